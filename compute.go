package nebula

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// ComputeService lists the compute catalog: the GPU products an instance
// can be created from, and the OS images it can run. Get it from
// Client.Compute.
type ComputeService struct {
	client *Client
}

// Product is a GPU instance configuration ("flavor") that can be ordered.
// Its ID is what CreateInstanceRequest.ProductID takes.
type Product struct {
	ID     string // id
	Region string // the region the API files it under (its region field when it has no such key)
	Family string // the GPU family the API files it under ("H100"; its gpu_type when it has no such key)

	// DataCenterID (dc_id) says which data centre, or vendor, runs the
	// product; an image must come from the same one (see Image).
	DataCenterID int
	// ProductType (product_type) is how the product runs: "Virtual
	// Machine" or "Container" in the docs' example (whose description of
	// the field, "the region", is wrong).
	ProductType  string
	PricePerHour Decimal // price_per_hour, exactly as sent
	CPUCores     int     // cpu
	RAMGB        int     // ram, in whole gigabytes (the docs' values all are), as Instance.RAMGB
	GPU          string  // gpu: the model, e.g. "H100-80G-SXM"
	GPUType      string  // gpu_type, e.g. "H100"
	GPUCount     int     // gpu_count
	DiskGB       int     // disk_size: the root disk, in gigabytes
	EphemeralGB  int     // ephemeral: temporary storage, in gigabytes
	Stock        int     // stock: how many are in stock
	BillingCycle string  // cycle, e.g. "hourly"
	Available    bool    // is_available
}

// Image is an operating-system image an instance can be created with. Its
// ID is what CreateInstanceRequest.ImageID takes.
type Image struct {
	ID           string // id
	Region       string // the region the API files it under (its region field when it has no such key)
	OSName       string // os_name, e.g. "Ubuntu Server 22.04 LTS R535 CUDA 12.2"
	OSType       string // os_type, e.g. "Ubuntu"
	DataCenterID int    // dc_id: the data centre, or vendor, that provides it
}

// productData is a product as the API sends it.
type productData struct {
	ID           string   `json:"id"`
	DataCenterID flexInt  `json:"dc_id"`
	ProductType  string   `json:"product_type"`
	Region       string   `json:"region"`
	PricePerHour Decimal  `json:"price_per_hour"`
	CPU          flexInt  `json:"cpu"`
	RAM          flexInt  `json:"ram"`
	GPU          string   `json:"gpu"`
	GPUType      string   `json:"gpu_type"`
	GPUCount     flexInt  `json:"gpu_count"`
	DiskSize     flexInt  `json:"disk_size"`
	Ephemeral    flexInt  `json:"ephemeral"`
	Stock        flexInt  `json:"stock"`
	Cycle        string   `json:"cycle"`
	IsAvailable  flexBool `json:"is_available"` // absent or null: not available
}

// validate refuses a product that could not be ordered.
func (d *productData) validate() string {
	if d.ID == "" {
		return `product without "id"`
	}
	return ""
}

func (d *productData) public(region, family string) Product {
	if region == "" {
		region = d.Region
	}
	if family == "" {
		family = d.GPUType
	}
	return Product{
		ID: d.ID, Region: region, Family: family,
		DataCenterID: int(d.DataCenterID), ProductType: d.ProductType,
		PricePerHour: d.PricePerHour, CPUCores: int(d.CPU), RAMGB: int(d.RAM),
		GPU: d.GPU, GPUType: d.GPUType, GPUCount: int(d.GPUCount),
		DiskGB: int(d.DiskSize), EphemeralGB: int(d.Ephemeral), Stock: int(d.Stock),
		BillingCycle: d.Cycle, Available: bool(d.IsAvailable),
	}
}

// productsData is the data of GET /computing/products, flattened while it
// is decoded. The docs' example is {region: {gpu family: [product]}}; their
// text calls it an array, so a flat array of products is read too.
type productsData struct {
	products []Product
	problem  string
}

// UnmarshalJSON flattens the catalog in a stable order: regions sorted,
// then families sorted, then the products of a family in the API's order.
// null is an empty catalog.
func (p *productsData) UnmarshalJSON(b []byte) error {
	if isJSONArray(b) {
		var list []productData
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		p.products = make([]Product, 0, len(list))
		for i := range list {
			if p.problem = list[i].validate(); p.problem != "" {
				return nil
			}
			p.products = append(p.products, list[i].public("", ""))
		}
		return nil
	}
	var byRegion map[string]map[string][]productData
	if err := json.Unmarshal(b, &byRegion); err != nil {
		return err
	}
	p.products = []Product{}
	for _, region := range sortedKeys(byRegion) {
		families := byRegion[region]
		for _, family := range sortedKeys(families) {
			for i := range families[family] {
				d := &families[family][i]
				if p.problem = d.validate(); p.problem != "" {
					return nil
				}
				p.products = append(p.products, d.public(region, family))
			}
		}
	}
	return nil
}

func (p *productsData) validate() string { return p.problem }

// imageData is an image as the API sends it.
type imageData struct {
	ID           string  `json:"id"`
	DataCenterID flexInt `json:"dc_id"`
	OSName       string  `json:"os_name"`
	OSType       string  `json:"os_type"`
	Region       string  `json:"region"`
}

func (d *imageData) validate() string {
	if d.ID == "" {
		return `image without "id"`
	}
	return ""
}

func (d *imageData) public(region string) Image {
	if region == "" {
		region = d.Region
	}
	return Image{ID: d.ID, Region: region, OSName: d.OSName, OSType: d.OSType, DataCenterID: int(d.DataCenterID)}
}

// imagesData is the data of GET /computing/images, flattened while it is
// decoded: {region: [image]} as in the docs' example, or a flat array as
// their text says.
type imagesData struct {
	images  []Image
	problem string
}

// UnmarshalJSON flattens the images: regions sorted, then the images of a
// region in the API's order. null is an empty list.
func (p *imagesData) UnmarshalJSON(b []byte) error {
	if isJSONArray(b) {
		var list []imageData
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		p.images = make([]Image, 0, len(list))
		for i := range list {
			if p.problem = list[i].validate(); p.problem != "" {
				return nil
			}
			p.images = append(p.images, list[i].public(""))
		}
		return nil
	}
	var byRegion map[string][]imageData
	if err := json.Unmarshal(b, &byRegion); err != nil {
		return err
	}
	p.images = []Image{}
	for _, region := range sortedKeys(byRegion) {
		for i := range byRegion[region] {
			d := &byRegion[region][i]
			if p.problem = d.validate(); p.problem != "" {
				return nil
			}
			p.images = append(p.images, d.public(region))
		}
	}
	return nil
}

func (p *imagesData) validate() string { return p.problem }

// Products returns the GPU products of every region, flattened into one
// list in a stable order: by region name, then by GPU family name, then in
// the API's order within a family. An account may see products that are
// out of stock: check Available.
//
// Errors: ErrInvalidArgument (nil context); an *APIError matching
// ErrUnauthorized, ErrForbidden, ErrRateLimited or ErrServerError after
// retries, or ErrUnexpectedResponse (a catalog in no known shape, a product
// without an id, a number, price or availability in no known form; an
// absent or null availability is false).
func (s *ComputeService) Products(ctx context.Context, opts ...CallOption) ([]Product, error) {
	r := &request{name: "Compute.Products", route: "/computing/products", opts: opts, method: http.MethodGet, path: "/computing/products", safety: repeatable}
	data, err := sendNullable[productsData](ctx, s.client, r)
	if err != nil {
		return nil, err
	}
	return nonNil(data.products), nil
}

// Images returns the OS images of every region, flattened into one list:
// by region name, then in the API's order within a region.
//
// Errors: ErrInvalidArgument (nil context); an *APIError matching
// ErrUnauthorized, ErrForbidden, ErrRateLimited or ErrServerError after
// retries, or ErrUnexpectedResponse (a list in no known shape, an image
// without an id, a dc_id in no known form).
func (s *ComputeService) Images(ctx context.Context, opts ...CallOption) ([]Image, error) {
	r := &request{name: "Compute.Images", route: "/computing/images", opts: opts, method: http.MethodGet, path: "/computing/images", safety: repeatable}
	data, err := sendNullable[imagesData](ctx, s.client, r)
	if err != nil {
		return nil, err
	}
	return nonNil(data.images), nil
}

// ImagesFor returns the images an instance of product p can be created
// with: those whose region and data centre fit p's, by the rule
// Instances.Create checks (regions compare without regard to case; when
// either side has no data-centre ID, the region alone decides). The order
// is that of Images. It reads the image catalog once.
//
// Errors: ErrInvalidArgument (nil context, a product without ID or region,
// a bad CallOption; nothing is sent); the errors of Images.
func (s *ComputeService) ImagesFor(ctx context.Context, p Product, opts ...CallOption) ([]Image, error) {
	const op = "Compute.ImagesFor"
	if ctx == nil {
		return nil, refused(opts, invalidArgument("%s: nil context", op))
	}
	if strings.TrimSpace(p.ID) == "" || strings.TrimSpace(p.Region) == "" {
		return nil, refused(opts, invalidArgument("%s: the product has no ID or no region (take it from Products)", op))
	}
	if _, err := newCallConfig(op, opts); err != nil {
		return nil, refused(opts, err)
	}
	images, err := s.Images(ctx, opts...)
	if err != nil {
		return nil, err
	}
	out := images[:0:0]
	for _, img := range images {
		if imageFitsProduct(p, img) {
			out = append(out, img)
		}
	}
	return nonNil(out), nil
}

// imageFitsProduct reports whether an instance of product p can run image
// img: the docs pair them by region and data centre (dc_id 1 products with
// dc_id 1 images). Regions compare without regard to case. When either side
// lacks a data-centre ID (0: the API sent none) only the region decides, so
// that a catalog without dc_id does not make every pair look wrong; the API
// has the last word when the instance is created.
func imageFitsProduct(p Product, img Image) bool {
	if !strings.EqualFold(p.Region, img.Region) {
		return false
	}
	return p.DataCenterID == 0 || img.DataCenterID == 0 || p.DataCenterID == img.DataCenterID
}

// flexBool is a boolean sent as JSON true/false, as the docs show, or as the
// strings "true"/"false" or the numbers 1/0 that loosely typed backends
// write. null leaves it false. Anything else is an error wrapping
// ErrUnexpectedResponse.
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(string(bytes.TrimSpace(b))) {
	case "true", `"true"`, "1", `"1"`:
		*v = true
	case "false", `"false"`, "0", `"0"`, "null":
		*v = false
	default:
		// The value is not quoted: a malformed answer may hold anything.
		kind := "another value"
		switch b = bytes.TrimSpace(b); {
		case len(b) > 0 && b[0] == '"':
			kind = "a string that is not true or false"
		case len(b) > 0 && (b[0] == '-' || isDigit(b[0])):
			kind = "a number other than 0 or 1"
		case len(b) > 0:
			kind = valueKind(b)
		}
		return fmt.Errorf("%w: expected a boolean, got %s", ErrUnexpectedResponse, kind)
	}
	return nil
}

// nonNil makes an empty result an empty slice, never nil.
func nonNil[E any](s []E) []E {
	if s == nil {
		return []E{}
	}
	return s
}

func isJSONArray(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '['
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
