package nebula_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	nebula "github.com/nebula-sdk/nebula-go"
)

// The inference examples use billingAPI (example_billing_test.go).

func ExampleInferenceService_Models() {
	srv, client := billingAPI()
	defer srv.Close()

	models, err := client.Inference.Models(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range models {
		fmt.Printf("%-5s %s (context %d, price %s)\n", m.Type, m.Name, m.ContextLength, m.Price)
	}
	// Output:
	// Text  deepseek-ai/DeepSeek-R1-Distill-Llama-70B (context 32768, price 0)
	// Image stabilityai/stable-diffusion-xl-base-1.0 (context 0, price 0.009)
}

func ExampleInferenceService_GenerateImage() {
	srv, client := billingAPI()
	defer srv.Close()

	// An image costs money: GenerateImage is never sent twice. After an
	// error matching ErrOutcomeUnknown the image may have been made (and
	// billed) anyway.
	images, err := client.Inference.GenerateImage(context.Background(), nebula.GenerateImageRequest{
		Model:         "stabilityai/stable-diffusion-xl-base-1.0",
		Prompt:        "a flying cat",
		Width:         1024,
		Height:        1024,
		Steps:         25,
		GuidanceScale: 9,
	})
	if errors.Is(err, nebula.ErrOutcomeUnknown) {
		log.Fatal("the image may have been generated and billed: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	for _, img := range images {
		// os.WriteFile("cat.png", img.PNG, 0o644)
		fmt.Printf("image %d: %q..., %.1fs\n", img.Index, img.PNG[1:4], img.InferenceTime.Seconds())
	}
	// Output: image 0: "PNG"..., 13.4s
}

func ExampleInferenceService_GenerateImage_badInput() {
	srv, client := billingAPI()
	defer srv.Close()

	_, err := client.Inference.GenerateImage(context.Background(), nebula.GenerateImageRequest{
		Model: "stabilityai/stable-diffusion-xl-base-1.0", Prompt: "a flying cat", Steps: -1,
	})
	fmt.Println(errors.Is(err, nebula.ErrInvalidArgument)) // and nothing was sent
	// Output: true
}
