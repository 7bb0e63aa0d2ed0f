package nebulatest

// Product is a GPU configuration the fake offers, as GET
// /computing/products shows it. WithProducts seeds them.
type Product struct {
	ID           string  `json:"id"`
	DCID         int     `json:"dc_id"` // must match the image's for a create
	ProductType  string  `json:"product_type"`
	Region       string  `json:"region"`
	PricePerHour float64 `json:"price_per_hour"`
	CPU          int     `json:"cpu"`
	RAM          int     `json:"ram"`
	GPU          string  `json:"gpu"`
	GPUType      string  `json:"gpu_type"` // the family the list groups by
	GPUCount     int     `json:"gpu_count"`
	DiskSize     int     `json:"disk_size"`
	Ephemeral    int     `json:"ephemeral"`
	Stock        int     `json:"stock"`
	Cycle        string  `json:"cycle"`
	IsAvailable  bool    `json:"is_available"` // false: creates are refused
}

// Image is an OS image the fake offers, as GET /computing/images shows it.
// WithImages seeds them.
type Image struct {
	ID     string `json:"id"`
	DCID   int    `json:"dc_id"`
	OSName string `json:"os_name"`
	OSType string `json:"os_type"`
	Region string `json:"region"`
}

// catalog is the products and images the fake offers, indexed by ID.
type catalog struct {
	products []Product
	images   []Image
	product  map[string]*Product
	image    map[string]*Image
}

func newCatalog(products []Product, images []Image) catalog {
	c := catalog{products: products, images: images, product: map[string]*Product{}, image: map[string]*Image{}}
	for i := range c.products {
		c.product[c.products[i].ID] = &c.products[i]
	}
	for i := range c.images {
		c.image[c.images[i].ID] = &c.images[i]
	}
	return c
}

// WithProducts replaces the default products (the docs' example: four in
// CANADA) with ps.
func WithProducts(ps ...Product) Option {
	return func(s *Server) { s.cfg.catalog = newCatalog(append([]Product(nil), ps...), s.cfg.catalog.images) }
}

// WithImages replaces the default OS images (the docs' example: two in
// CANADA, two in NORWAY) with images.
func WithImages(images ...Image) Option {
	return func(s *Server) { s.cfg.catalog = newCatalog(s.cfg.catalog.products, append([]Image(nil), images...)) }
}

// DefaultProducts returns the products of the docs' example, which a Server
// offers unless WithProducts says otherwise.
func DefaultProducts() []Product {
	return []Product{
		{ID: "fcp66d566c43a9501001256", DCID: 1, ProductType: "Container", Region: "CANADA", PricePerHour: 1.0, CPU: 24, RAM: 200,
			GPU: "H100-80G-SXM", GPUType: "H100", GPUCount: 1, DiskSize: 200, Ephemeral: 1500, Stock: 99, Cycle: "hourly", IsAvailable: true},
		{ID: "expde8da3529-f08d-4f86-8456-04094d19fbc4", DCID: 2, ProductType: "Virtual Machine", Region: "CANADA", PricePerHour: 2.627, CPU: 28, RAM: 180,
			GPU: "H100-80G-PCIe", GPUType: "H100", GPUCount: 1, DiskSize: 100, Ephemeral: 750, Stock: 99, Cycle: "hourly", IsAvailable: true},
		{ID: "expd4b024f34-c9f3-4c41-ade4-4b56bbe3c64b", DCID: 2, ProductType: "Virtual Machine", Region: "CANADA", PricePerHour: 1.867, CPU: 28, RAM: 120,
			GPU: "A100-80G-PCIe", GPUType: "A100", GPUCount: 1, DiskSize: 100, Ephemeral: 750, Stock: 99, Cycle: "hourly", IsAvailable: true},
		{ID: "expd0ce88325-aeb0-48d0-8216-09506b58f1dd", DCID: 2, ProductType: "Virtual Machine", Region: "CANADA", PricePerHour: 0.697, CPU: 28, RAM: 58,
			GPU: "RTX-A6000", GPUType: "RTX", GPUCount: 1, DiskSize: 100, Ephemeral: 0, Stock: 99, Cycle: "hourly", IsAvailable: true},
	}
}

// DefaultImages returns the OS images of the docs' example, which a Server
// offers unless WithImages says otherwise.
func DefaultImages() []Image {
	return []Image{
		{ID: "fcp66d566c93a95010012", DCID: 1, OSName: "Ubuntu Server 22.04 LTS", OSType: "Ubuntu", Region: "CANADA"},
		{ID: "exoscee6e762-1d11-4f65-a7d6-8c0670b603b2", DCID: 2, OSName: "Ubuntu Server 22.04 LTS R535 CUDA 12.2", OSType: "Ubuntu", Region: "CANADA"},
		{ID: "exos60da1d80-a58b-4ff3-8a33-b566b65f3e6e", DCID: 2, OSName: "Ubuntu Server 22.04 LTS R535 CUDA 12.2", OSType: "Ubuntu", Region: "NORWAY"},
		{ID: "exos63884cc9-2119-43db-b6d5-093fb4036586", DCID: 2, OSName: "Ubuntu Server 22.04 LTS", OSType: "Ubuntu", Region: "NORWAY"},
	}
}

func defaultCatalog() catalog { return newCatalog(DefaultProducts(), DefaultImages()) }

// listProducts answers {region: {family: [product]}}, in the seeded order.
func (s *Server) listProducts(*call) reply {
	out := map[string]map[string][]Product{}
	for _, p := range s.cfg.catalog.products {
		if out[p.Region] == nil {
			out[p.Region] = map[string][]Product{}
		}
		out[p.Region][p.GPUType] = append(out[p.Region][p.GPUType], p)
	}
	return ok(out, "All products retrieved successfully")
}

// listImages answers {region: [image]}.
func (s *Server) listImages(*call) reply {
	out := map[string][]Image{}
	for _, im := range s.cfg.catalog.images {
		out[im.Region] = append(out[im.Region], im)
	}
	return ok(out, "All OS retrieved successfully")
}
