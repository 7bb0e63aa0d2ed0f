package nebula

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"testing"
	"time"
)

// Boundaries of DownloadInvoice and GenerateImage that mutation testing
// showed no other test pins.

func TestDownloadInvoiceMagicBoundary(t *testing.T) {
	t.Parallel()
	for body, ok := range map[string]bool{"%PDF-": true, "%PDF": false, "%PDF-1.7 rest": true, "": false} {
		e := newTestEnv(t)
		e.reply("GET", "/users/invoice-download/7", answer{status: 200, body: body, header: map[string]string{"Content-Type": "application/pdf"}})
		var w bytes.Buffer
		n, err := e.client.Billing.DownloadInvoice(bg, "7", &w)
		if (err == nil) != ok || (ok && (n != int64(len(body)) || w.String() != body)) || (!ok && w.Len() != 0) {
			t.Errorf("body %q: n %d, wrote %q, err %v", body, n, w.String(), err)
		}
	}
}

func TestGenerateImageLimits(t *testing.T) {
	t.Parallel()
	base := GenerateImageRequest{Model: "m", Prompt: "p"}
	cases := map[string]struct {
		edit func(*GenerateImageRequest)
		ok   bool
	}{
		"zero sizes and steps: the API's defaults": {func(r *GenerateImageRequest) {}, true},
		"negative width":     {func(r *GenerateImageRequest) { r.Width = -1 }, false},
		"negative height":    {func(r *GenerateImageRequest) { r.Height = -1 }, false},
		"negative steps":     {func(r *GenerateImageRequest) { r.Steps = -1 }, false},
		"guidance zero":      {func(r *GenerateImageRequest) { r.GuidanceScale = 0 }, true},
		"guidance negative":  {func(r *GenerateImageRequest) { r.GuidanceScale = -0.5 }, false},
		"guidance NaN":       {func(r *GenerateImageRequest) { r.GuidanceScale = math.NaN() }, false},
		"mask without image": {func(r *GenerateImageRequest) { r.Mask = []byte{1} }, false},
		"mask with image":    {func(r *GenerateImageRequest) { r.Mask, r.Image = []byte{1}, []byte{2} }, true},
	}
	for name, c := range cases {
		req := base
		c.edit(&req)
		if err := req.check(); (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalidArgument)) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestGenerateImageInferenceTimeBounds(t *testing.T) {
	t.Parallel()
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n"))
	for inference, good := range map[string]bool{"0": true, "1.5": true, "-0.001": false, "1e300": false} {
		e := newTestEnv(t)
		e.reply("POST", "/images/generation", ok(`{"data": [{"b64_json": "`+png+`", "index": 0, "timings": {"inference": `+inference+`}}], "model": "m", "object": "list", "message": "ok", "status": "success"}`))
		imgs, err := e.client.Inference.GenerateImage(bg, GenerateImageRequest{Model: "m", Prompt: "p"})
		if (err == nil) != good {
			t.Errorf("inference %s: err %v", inference, err)
			continue
		}
		if good && inference == "1.5" && imgs[0].InferenceTime != 1500*time.Millisecond {
			t.Errorf("inference 1.5: %v", imgs[0].InferenceTime)
		}
	}
}
