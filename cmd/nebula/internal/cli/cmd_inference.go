package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	nebula "github.com/nebula-sdk/nebula-go"
)

type modelView struct {
	Name                string         `json:"name"`
	Alias               string         `json:"alias"`
	Type                string         `json:"type"`
	Description         string         `json:"description"`
	HuggingFaceURL      string         `json:"huggingface_url"`
	ContextLength       int            `json:"context_length"`
	MaxCompletionTokens int            `json:"max_completion_tokens"`
	Price               nebula.Decimal `json:"price"`
}

func modelView1(m nebula.Model) any {
	return modelView{m.Name, m.Alias, m.Type, m.Description, m.HuggingFaceURL, m.ContextLength, m.MaxCompletionTokens, m.Price}
}

var modelColumns = columns[nebula.Model]{
	{"NAME", func(m nebula.Model) string { return m.Name }, true},
	{"TYPE", func(m nebula.Model) string { return m.Type }, true},
	{"CONTEXT_LENGTH", func(m nebula.Model) string {
		if m.ContextLength == 0 {
			return ""
		}
		return itoa(m.ContextLength)
	}, true},
	{"PRICE", func(m nebula.Model) string { return string(m.Price) }, true},
	{"ALIAS", func(m nebula.Model) string { return m.Alias }, false},
	{"MAX_COMPLETION_TOKENS", func(m nebula.Model) string { return itoa(m.MaxCompletionTokens) }, false},
	{"DESCRIPTION", func(m nebula.Model) string { return m.Description }, false},
	{"HUGGINGFACE_URL", func(m nebula.Model) string { return m.HuggingFaceURL }, false},
}

func (a *App) modelCommand() *cobra.Command {
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the serverless models",
		Example: "  nebula model list\n  nebula model list --columns name,type,description",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, modelColumns, func(cmd *cobra.Command, _ []string, p *printer[nebula.Model], client *nebula.Client) error {
			models, err := client.Inference.Models(cmd.Context())
			if err != nil {
				return err
			}
			return p.list(models, modelView1)
		}),
	}
	return group("model", "List the serverless inference models", "  nebula model list", list)
}

type generatedView struct {
	Index         int    `json:"index"`
	File          string `json:"file"`
	Bytes         int    `json:"bytes"`
	Model         string `json:"model"`
	InferenceTime string `json:"inference_time"`
}

var generatedColumns = columns[generatedView]{
	{"INDEX", func(g generatedView) string { return itoa(g.Index) }, true},
	{"FILE", func(g generatedView) string { return g.File }, true},
	{"BYTES", func(g generatedView) string { return itoa(g.Bytes) }, true},
	{"MODEL", func(g generatedView) string { return g.Model }, true},
	{"INFERENCE_TIME", func(g generatedView) string { return g.InferenceTime }, true},
}

func (a *App) imageGenerateCommand() *cobra.Command {
	var (
		req     nebula.GenerateImageRequest
		seed    int64
		outFile string
	)
	c := &cobra.Command{
		Use:   "generate --model M --prompt P -O FILE",
		Short: "Generate an image with a model (billed) and write it to FILE",
		Long: `Generates an image from a prompt and writes it to FILE (more than one image:
FILE, then FILE with -1, -2 ... before its extension). Files are written under
a temporary name and renamed when complete; "-O -" writes the PNG to stdout
(several, one after another) and nothing else.`,
		Example: `  nebula image generate --model black-forest-labs/FLUX.1-schnell --prompt "a red fox" -O fox.png`,
		Args:    cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, _ []string) error {
			p, err := newPrinter(a, generatedColumns)
			if err != nil {
				return err
			}
			if req.Model == "" || req.Prompt == "" || outFile == "" {
				return usagef("--model, --prompt and -O FILE are required")
			}
			if outFile != "-" {
				if err := checkWritable(outFile); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("seed") {
				req.Seed = &seed
			}
			client, err := a.client(cmd)
			if err != nil {
				return err
			}
			images, err := client.Inference.GenerateImage(cmd.Context(), req)
			if err != nil {
				if errors.Is(err, nebula.ErrOutcomeUnknown) {
					return &unknownError{err, "the image may have been generated (and billed); nothing was written"}
				}
				return err
			}
			if outFile == "-" {
				// The PNGs alone, one after another: stdout is the image.
				for _, im := range images {
					if _, err := a.Out.Write(im.PNG); err != nil {
						return err
					}
				}
				return nil
			}
			var rows []generatedView
			for i, im := range images {
				file := outFile
				if i > 0 {
					ext := filepath.Ext(outFile)
					file = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(outFile, ext), i, ext)
				}
				if err := writeAtomic(file, func(f *os.File) error {
					_, err := f.Write(im.PNG)
					return err
				}); err != nil {
					return err
				}
				rows = append(rows, generatedView{im.Index, file, len(im.PNG), im.Model, im.InferenceTime.String()})
			}
			return p.list(rows, func(g generatedView) any { return g })
		}),
	}
	f := c.Flags()
	f.StringVar(&req.Model, "model", "", "an image model's name (see nebula model list)")
	f.StringVar(&req.Prompt, "prompt", "", "what the image shows")
	f.StringVar(&req.NegativePrompt, "negative-prompt", "", "what the image must not show")
	f.IntVar(&req.Width, "width", 0, "width in pixels (default: the model's)")
	f.IntVar(&req.Height, "height", 0, "height in pixels (default: the model's)")
	f.IntVar(&req.Steps, "steps", 0, "inference steps (default: the model's)")
	f.Float64Var(&req.GuidanceScale, "guidance-scale", 0, "how closely the image follows the prompt")
	f.Int64Var(&seed, "seed", 0, "a seed, for a reproducible image")
	f.StringVarP(&outFile, "output-file", "O", "", "the file to write (PNG; - for stdout)")
	return c
}
