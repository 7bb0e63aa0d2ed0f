package checkproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
)

// answerTransport answers every request with one recorded answer: it lets
// the SDK's own (unexported) decoders read what the API sent.
type answerTransport struct{ x *Exchange }

func (t answerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	h := http.Header{}
	for _, k := range []string{"Content-Type", "Retry-After"} {
		if v := t.x.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	return &http.Response{
		Status:        strconv.Itoa(t.x.Status) + " " + http.StatusText(t.x.Status),
		StatusCode:    t.x.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(t.x.Body)),
		ContentLength: int64(len(t.x.Body)),
		Request:       req,
	}, nil
}

// checkToken is the token the SDK client of sdkDecode sends to nobody.
const checkToken = "ak_checkproxy-sdk-decoder-0000"

// checkPublicKey is a valid public key for SSHKeys.Create's own checks; the
// answer decoded is the recorded one.
const checkPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl checkproxy"

// sdkDecode feeds a successful answer to the SDK method of its route and
// returns the SDK's error: an answer the SDK cannot decode is drift even
// when every field looks right. Routes whose SDK call does more than one
// request (Instances.Create) are left to the field checks.
func sdkDecode(r *route, id string, x *Exchange) error {
	if x.Status < 200 || x.Status >= 300 {
		return nil
	}
	client, err := nebula.NewClient(
		nebula.WithToken(checkToken),
		nebula.WithBaseURL("http://127.0.0.1/api/v1"),
		nebula.WithHTTPClient(&http.Client{Transport: answerTransport{x}}),
		nebula.WithMaxRetries(0),
	)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q, _ := url.ParseQuery(x.RawQuery)
	lo := nebula.ListOptions{}
	lo.Limit, _ = strconv.Atoi(q.Get("limit"))
	lo.Offset, _ = strconv.Atoi(q.Get("offset"))
	if lo.Limit < 0 || lo.Offset < 0 {
		lo = nebula.ListOptions{}
	}
	if id == "" {
		id = "1"
	}
	nid := nebula.ID(id)
	switch r.name() {
	case "POST /login":
		_, err = client.Auth.Login(ctx, "checkproxy", "checkproxy-password")
	case "POST /api-keys":
		_, err = client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "checkproxy"})
	case "GET /api_keys":
		_, err = client.APIKeys.List(ctx)
	case "DELETE /api-keys/{id}":
		err = client.APIKeys.Delete(ctx, nid)
	case "POST /ssh-keys":
		_, err = client.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: "checkproxy", PublicKey: checkPublicKey})
	case "GET /ssh-keys":
		_, err = client.SSHKeys.List(ctx, lo)
	case "PUT /ssh-keys/{id}":
		_, err = client.SSHKeys.Rename(ctx, nid, "checkproxy")
	case "DELETE /ssh-keys/{id}":
		err = client.SSHKeys.Delete(ctx, nid)
	case "GET /computing/products":
		_, err = client.Compute.Products(ctx)
	case "GET /computing/images":
		_, err = client.Compute.Images(ctx)
	case "GET /computing/instances":
		_, err = client.Instances.List(ctx, lo)
	case "GET /computing/deleted-instances":
		_, err = client.Instances.ListDeleted(ctx, lo)
	case "GET /computing/instance/{id}":
		_, err = client.Instances.Get(ctx, nid)
	case "GET /computing/instance/{id}/start":
		err = client.Instances.Start(ctx, nid)
	case "GET /computing/instance/{id}/stop":
		err = client.Instances.Stop(ctx, nid)
	case "GET /computing/instance/{id}/reboot":
		err = client.Instances.Reboot(ctx, nid)
	case "DELETE /computing/instance/{id}":
		err = client.Instances.Delete(ctx, nid)
	case "GET /users/credits":
		_, err = client.Billing.Balance(ctx)
	case "GET /users/credits/history":
		_, err = client.Billing.CreditHistory(ctx, lo)
	case "GET /users/invoices":
		_, err = client.Billing.Invoices(ctx, lo)
	case "GET /serverless/models":
		_, err = client.Inference.Models(ctx)
	case "POST /images/generation":
		_, err = client.Inference.GenerateImage(ctx, nebula.GenerateImageRequest{Model: "checkproxy", Prompt: "checkproxy"})
	}
	if errors.Is(err, nebula.ErrInvalidArgument) {
		// The call refused our stand-in arguments (an ID from the path it
		// would not send): that says nothing about the answer.
		return nil
	}
	return err
}
