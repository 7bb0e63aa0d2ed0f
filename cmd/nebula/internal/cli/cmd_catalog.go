package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	nebula "github.com/nebula-sdk/nebula-go"
)

type productView struct {
	ID           string         `json:"id"`
	Region       string         `json:"region"`
	Family       string         `json:"family"`
	GPU          string         `json:"gpu"`
	GPUType      string         `json:"gpu_type"`
	GPUCount     int            `json:"gpu_count"`
	CPUCores     int            `json:"cpu_cores"`
	RAMGB        int            `json:"ram_gb"`
	DiskGB       int            `json:"disk_gb"`
	EphemeralGB  int            `json:"ephemeral_gb"`
	PricePerHour nebula.Decimal `json:"price_per_hour"`
	BillingCycle string         `json:"billing_cycle"`
	Stock        int            `json:"stock"`
	Available    bool           `json:"available"`
	ProductType  string         `json:"product_type"`
	DataCenterID int            `json:"data_center_id"`
}

func productView1(p nebula.Product) any {
	return productView{p.ID, p.Region, p.Family, p.GPU, p.GPUType, p.GPUCount, p.CPUCores, p.RAMGB, p.DiskGB,
		p.EphemeralGB, p.PricePerHour, p.BillingCycle, p.Stock, p.Available, p.ProductType, p.DataCenterID}
}

var productColumns = columns[nebula.Product]{
	{"ID", func(p nebula.Product) string { return p.ID }, true},
	{"REGION", func(p nebula.Product) string { return p.Region }, true},
	{"GPU", func(p nebula.Product) string { return p.GPU }, true},
	{"GPU_COUNT", func(p nebula.Product) string { return itoa(p.GPUCount) }, true},
	{"CPU_CORES", func(p nebula.Product) string { return itoa(p.CPUCores) }, true},
	{"RAM_GB", func(p nebula.Product) string { return itoa(p.RAMGB) }, true},
	{"DISK_GB", func(p nebula.Product) string { return itoa(p.DiskGB) }, true},
	{"PRICE_PER_HOUR", func(p nebula.Product) string { return string(p.PricePerHour) }, true},
	{"AVAILABLE", func(p nebula.Product) string { return yesNo(p.Available) }, true},
	{"FAMILY", func(p nebula.Product) string { return p.Family }, false},
	{"GPU_TYPE", func(p nebula.Product) string { return p.GPUType }, false},
	{"EPHEMERAL_GB", func(p nebula.Product) string { return itoa(p.EphemeralGB) }, false},
	{"STOCK", func(p nebula.Product) string { return itoa(p.Stock) }, false},
	{"BILLING_CYCLE", func(p nebula.Product) string { return p.BillingCycle }, false},
	{"PRODUCT_TYPE", func(p nebula.Product) string { return p.ProductType }, false},
	{"DATA_CENTER_ID", func(p nebula.Product) string { return itoa(p.DataCenterID) }, false},
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

type imageView struct {
	ID           string `json:"id"`
	Region       string `json:"region"`
	OSName       string `json:"os_name"`
	OSType       string `json:"os_type"`
	DataCenterID int    `json:"data_center_id"`
}

func imageView1(i nebula.Image) any {
	return imageView{i.ID, i.Region, i.OSName, i.OSType, i.DataCenterID}
}

var imageColumns = columns[nebula.Image]{
	{"ID", func(i nebula.Image) string { return i.ID }, true},
	{"REGION", func(i nebula.Image) string { return i.Region }, true},
	{"OS_NAME", func(i nebula.Image) string { return i.OSName }, true},
	{"OS_TYPE", func(i nebula.Image) string { return i.OSType }, false},
	{"DATA_CENTER_ID", func(i nebula.Image) string { return itoa(i.DataCenterID) }, false},
}

func (a *App) productCommand() *cobra.Command {
	var region, gpu string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the GPU products (the catalog)",
		Example: "  nebula product list\n  nebula product list --region CANADA --gpu H100",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, productColumns, func(cmd *cobra.Command, _ []string, p *printer[nebula.Product], client *nebula.Client) error {
			products, err := client.Compute.Products(cmd.Context())
			if err != nil {
				return err
			}
			var rows []nebula.Product
			for _, pr := range products {
				if region != "" && !strings.EqualFold(pr.Region, region) {
					continue
				}
				if gpu != "" && !matchGPU(pr, gpu) {
					continue
				}
				rows = append(rows, pr)
			}
			return p.list(rows, productView1)
		}),
	}
	list.Flags().StringVar(&region, "region", "", "only products in this region (case-insensitive)")
	list.Flags().StringVar(&gpu, "gpu", "", "only products whose GPU, GPU type or family contains this (case-insensitive)")
	return group("product", "List the GPU products instances are made from", "  nebula product list --gpu H100", list)
}

func matchGPU(p nebula.Product, gpu string) bool {
	g := strings.ToLower(gpu)
	for _, s := range []string{p.GPU, p.GPUType, p.Family} {
		if strings.Contains(strings.ToLower(s), g) {
			return true
		}
	}
	return false
}

func (a *App) imageCommand() *cobra.Command {
	var product string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the OS images (--product: only those that fit the product)",
		Example: "  nebula image list\n  nebula image list --product gpu_h100_x1_canada",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, imageColumns, func(cmd *cobra.Command, _ []string, p *printer[nebula.Image], client *nebula.Client) error {
			var (
				images []nebula.Image
				err    error
			)
			if product != "" {
				images, err = imagesFor(cmd.Context(), client, product)
			} else {
				images, err = client.Compute.Images(cmd.Context())
			}
			if err != nil {
				return err
			}
			return p.list(images, imageView1)
		}),
	}
	list.Flags().StringVar(&product, "product", "", "only the images an instance of this product can use")
	return group("image", "List OS images; generate images with a model", "  nebula image list\n  nebula image generate --model M --prompt P -O out.png",
		list, a.imageGenerateCommand())
}

// imagesFor finds product id in the catalog and returns the images that fit
// it.
func imagesFor(ctx context.Context, client *nebula.Client, id string) ([]nebula.Image, error) {
	products, err := client.Compute.Products(ctx)
	if err != nil {
		return nil, err
	}
	for _, pr := range products {
		if pr.ID == id {
			return client.Compute.ImagesFor(ctx, pr)
		}
	}
	return nil, &notFoundError{fmt.Sprintf("no product with ID %q: see nebula product list", id)}
}
