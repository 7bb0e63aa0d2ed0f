package nebula

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// Fixtures: the catalog examples of the API's docs, verbatim (a leading
// blank line included).
const (
	docsProducts = `
{
    "data": {
        "CANADA": {
            "H100": [
                {
                    "id": "fcp66d566c43a9501001256",
                    "dc_id": 1,
                    "product_type": "Container",
                    "region": "CANADA",
                    "price_per_hour": 1.0,
                    "cpu": 24,
                    "ram": 200,
                    "gpu": "H100-80G-SXM",
                    "gpu_type": "H100",
                    "gpu_count": 1,
                    "disk_size": 200,
                    "ephemeral": 1500,
                    "stock": 99,
                    "cycle": "hourly",
                    "is_available": true
                },
                {
                    "id": "expde8da3529-f08d-4f86-8456-04094d19fbc4",
                    "dc_id": 2,
                    "product_type": "Virtual Machine",
                    "region": "CANADA",
                    "price_per_hour": 2.627,
                    "cpu": 28,
                    "ram": 180,
                    "gpu": "H100-80G-PCIe",
                    "gpu_type": "H100",
                    "gpu_count": 1,
                    "disk_size": 100,
                    "ephemeral": 750,
                    "stock": 99,
                    "cycle": "hourly",
                    "is_available": true
                }
            ],
            "A100": [
                {
                    "id": "expd4b024f34-c9f3-4c41-ade4-4b56bbe3c64b",
                    "dc_id": 2,
                    "product_type": "Virtual Machine",
                    "region": "CANADA",
                    "price_per_hour": 1.867,
                    "cpu": 28,
                    "ram": 120,
                    "gpu": "A100-80G-PCIe",
                    "gpu_type": "A100",
                    "gpu_count": 1,
                    "disk_size": 100,
                    "ephemeral": 750,
                    "stock": 99,
                    "cycle": "hourly",
                    "is_available": true
                }
            ],
            "RTX": [
                {
                    "id": "expd0ce88325-aeb0-48d0-8216-09506b58f1dd",
                    "dc_id": 2,
                    "product_type": "Virtual Machine",
                    "region": "CANADA",
                    "price_per_hour": 0.697,
                    "cpu": 28,
                    "ram": 58,
                    "gpu": "RTX-A6000",
                    "gpu_type": "RTX",
                    "gpu_count": 1,
                    "disk_size": 100,
                    "ephemeral": 0,
                    "stock": 99,
                    "cycle": "hourly",
                    "is_available": true
                }
            ]
        }
    },
    "message": "All products retrieved successfully",
    "status": "success"
}
`
	docsImages = `
{
    "data": {
        "CANADA": [
            {
                "id": "fcp66d566c93a95010012",
                "dc_id": 1,
                "os_name": "Ubuntu Server 22.04 LTS",
                "os_type": "Ubuntu",
                "region": "CANADA"
            },
            {
                "id": "exoscee6e762-1d11-4f65-a7d6-8c0670b603b2",
                "dc_id": 2,
                "os_name": "Ubuntu Server 22.04 LTS R535 CUDA 12.2",
                "os_type": "Ubuntu",
                "region": "CANADA"
            }
        ],
        "NORWAY": [
            {
                "id": "exos60da1d80-a58b-4ff3-8a33-b566b65f3e6e",
                "dc_id": 2,
                "os_name": "Ubuntu Server 22.04 LTS R535 CUDA 12.2",
                "os_type": "Ubuntu",
                "region": "NORWAY"
            },
            {
                "id": "exos63884cc9-2119-43db-b6d5-093fb4036586",
                "dc_id": 2,
                "os_name": "Ubuntu Server 22.04 LTS",
                "os_type": "Ubuntu",
                "region": "NORWAY"
            }
        ]
    },
    "message": "All OS retrieved successfully",
    "status": "success"
}
`
)

func TestProductsDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/computing/products", ok(docsProducts))
	products, err := e.client.Compute.Products(bg)
	if err != nil {
		t.Fatal(err)
	}
	// Families sorted (A100, H100, RTX); within H100 the docs' order.
	want := []Product{
		{ID: "expd4b024f34-c9f3-4c41-ade4-4b56bbe3c64b", Region: "CANADA", Family: "A100", DataCenterID: 2, ProductType: "Virtual Machine",
			PricePerHour: "1.867", CPUCores: 28, RAMGB: 120, GPU: "A100-80G-PCIe", GPUType: "A100", GPUCount: 1, DiskGB: 100, EphemeralGB: 750, Stock: 99, BillingCycle: "hourly", Available: true},
		{ID: "fcp66d566c43a9501001256", Region: "CANADA", Family: "H100", DataCenterID: 1, ProductType: "Container",
			PricePerHour: "1.0", CPUCores: 24, RAMGB: 200, GPU: "H100-80G-SXM", GPUType: "H100", GPUCount: 1, DiskGB: 200, EphemeralGB: 1500, Stock: 99, BillingCycle: "hourly", Available: true},
		{ID: "expde8da3529-f08d-4f86-8456-04094d19fbc4", Region: "CANADA", Family: "H100", DataCenterID: 2, ProductType: "Virtual Machine",
			PricePerHour: "2.627", CPUCores: 28, RAMGB: 180, GPU: "H100-80G-PCIe", GPUType: "H100", GPUCount: 1, DiskGB: 100, EphemeralGB: 750, Stock: 99, BillingCycle: "hourly", Available: true},
		{ID: "expd0ce88325-aeb0-48d0-8216-09506b58f1dd", Region: "CANADA", Family: "RTX", DataCenterID: 2, ProductType: "Virtual Machine",
			PricePerHour: "0.697", CPUCores: 28, RAMGB: 58, GPU: "RTX-A6000", GPUType: "RTX", GPUCount: 1, DiskGB: 100, EphemeralGB: 0, Stock: 99, BillingCycle: "hourly", Available: true},
	}
	if !slices.Equal(products, want) {
		t.Errorf("products:\n%+v\nwant\n%+v", products, want)
	}
	if r := rec.all()[0]; r.URL != testBase+"/computing/products" || r.Body != "" {
		t.Errorf("sent %s, body %q", r.URL, r.Body)
	}
}

func TestProductsOrderIsStable(t *testing.T) {
	t.Parallel()
	// Regions and families arrive unsorted; within a family the API's order
	// (z before a) is kept.
	body := `{"data":{
		"USA":    {"L40": [{"id":"z","is_available":true},{"id":"a","is_available":false}], "A100": [{"id":"m"}]},
		"CANADA": {"RTX": [{"id":"r2"},{"id":"r1"}], "H100": [{"id":"h"}]},
		"NORWAY": {}
	},"status":"success"}`
	want := []string{"CANADA/H100/h", "CANADA/RTX/r2", "CANADA/RTX/r1", "USA/A100/m", "USA/L40/z", "USA/L40/a"}
	e := newTestEnv(t)
	e.reply("GET", "/computing/products", ok(body))
	for range 5 { // map order is random: every call must agree
		products, err := e.client.Compute.Products(bg)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range products {
			got = append(got, p.Region+"/"+p.Family+"/"+p.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("order %v, want %v", got, want)
		}
		if products[4].Available != true || products[5].Available != false || products[0].Available != false {
			t.Errorf("availability %v %v %v", products[4].Available, products[5].Available, products[0].Available)
		}
	}
}

func TestProductsLooseForms(t *testing.T) {
	t.Parallel()
	body := `{"data":{"CANADA":{"H100":[{
		"id":"p1","dc_id":"2","product_type":"Virtual Machine","region":"CANADA",
		"price_per_hour":"$2.62700","cpu":"28","ram":"180.0","gpu":"H100-80G-PCIe","gpu_type":"H100",
		"gpu_count":"1","disk_size":100,"ephemeral":"750","stock":"0","cycle":"hourly","is_available":"false"
	},{"id":"p2","price_per_hour":null,"is_available":1}]}},"status":"success"}`
	e := newTestEnv(t)
	e.reply("GET", "/computing/products", ok(body))
	products, err := e.client.Compute.Products(bg)
	if err != nil {
		t.Fatal(err)
	}
	want := Product{ID: "p1", Region: "CANADA", Family: "H100", DataCenterID: 2, ProductType: "Virtual Machine",
		PricePerHour: "2.62700", CPUCores: 28, RAMGB: 180, GPU: "H100-80G-PCIe", GPUType: "H100", GPUCount: 1,
		DiskGB: 100, EphemeralGB: 750, Stock: 0, BillingCycle: "hourly", Available: false}
	if len(products) != 2 || products[0] != want {
		t.Fatalf("products %+v", products)
	}
	if p := products[1]; p.PricePerHour != "" || !p.Available {
		t.Errorf("second product %+v", p)
	}
}

func TestProductsFlatArray(t *testing.T) {
	t.Parallel()
	// The docs' text calls data an array: read that too, taking region
	// and family from each product.
	body := `{"data":[
		{"id":"b","region":"NORWAY","gpu_type":"H100","is_available":true},
		{"id":"a","region":"CANADA","gpu_type":"A100","is_available":true}
	],"status":"success"}`
	e := newTestEnv(t)
	e.reply("GET", "/computing/products", ok(body))
	products, err := e.client.Compute.Products(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(products) != 2 || products[0].ID != "b" || products[0].Region != "NORWAY" || products[0].Family != "H100" ||
		products[1].Region != "CANADA" || products[1].Family != "A100" {
		t.Fatalf("products %+v", products)
	}
}

func TestProductsEmpty(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"null data":    `{"data":null,"status":"success"}`,
		"empty object": `{"data":{},"status":"success"}`,
		"empty array":  `{"data":[],"status":"success"}`,
		"empty region": `{"data":{"CANADA":{}},"status":"success"}`,
		"null family":  `{"data":{"CANADA":{"H100":null}},"status":"success"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("GET", "/computing/products", ok(body))
			products, err := e.client.Compute.Products(bg)
			if err != nil || products == nil || len(products) != 0 {
				t.Fatalf("products %#v, err %v", products, err)
			}
		})
	}
}

func TestProductsBadAnswers(t *testing.T) {
	t.Parallel()
	product := func(field string) string {
		return `{"data":{"CANADA":{"H100":[{"id":"p",` + field + `}]}},"status":"success"}`
	}
	for name, body := range map[string]string{
		"no data":               `{"status":"success"}`,
		"data a string":         `{"data":"none","status":"success"}`,
		"region a list":         `{"data":{"CANADA":[{"id":"p"}]},"status":"success"}`,
		"no id":                 `{"data":{"CANADA":{"H100":[{"gpu":"x"}]}},"status":"success"}`,
		"empty id":              product(`"gpu":"x","id":""`),
		"id a number":           `{"data":{"CANADA":{"H100":[{"id":5}]}},"status":"success"}`,
		"availability a word":   product(`"is_available":"yes"`),
		"availability a number": product(`"is_available":2`),
		"price a word":          product(`"price_per_hour":"call us"`),
		"cpu a fraction":        product(`"cpu":2.5`),
		"stock a word":          product(`"stock":"plenty"`),
		"dc_id an object":       product(`"dc_id":{}`),
		"flat item without id":  `{"data":[{"region":"CANADA"}],"status":"success"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("GET", "/computing/products", ok(body))
			products, err := e.client.Compute.Products(bg)
			if products != nil || !errors.Is(err, ErrUnexpectedResponse) {
				t.Fatalf("products %v, err %v", products, err)
			}
		})
	}
}

func TestImagesDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/computing/images", ok(docsImages))
	images, err := e.client.Compute.Images(bg)
	if err != nil {
		t.Fatal(err)
	}
	want := []Image{
		{ID: "fcp66d566c93a95010012", Region: "CANADA", OSName: "Ubuntu Server 22.04 LTS", OSType: "Ubuntu", DataCenterID: 1},
		{ID: "exoscee6e762-1d11-4f65-a7d6-8c0670b603b2", Region: "CANADA", OSName: "Ubuntu Server 22.04 LTS R535 CUDA 12.2", OSType: "Ubuntu", DataCenterID: 2},
		{ID: "exos60da1d80-a58b-4ff3-8a33-b566b65f3e6e", Region: "NORWAY", OSName: "Ubuntu Server 22.04 LTS R535 CUDA 12.2", OSType: "Ubuntu", DataCenterID: 2},
		{ID: "exos63884cc9-2119-43db-b6d5-093fb4036586", Region: "NORWAY", OSName: "Ubuntu Server 22.04 LTS", OSType: "Ubuntu", DataCenterID: 2},
	}
	if !slices.Equal(images, want) {
		t.Errorf("images:\n%+v\nwant\n%+v", images, want)
	}
	if r := rec.all()[0]; r.URL != testBase+"/computing/images" {
		t.Errorf("sent %s", r.URL)
	}
}

func TestImagesForms(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		body string
		want []string // region/id
	}{
		"regions sorted": {`{"data":{"USA":[{"id":"u2"},{"id":"u1"}],"CANADA":[{"id":"c"}]},"status":"success"}`, []string{"CANADA/c", "USA/u2", "USA/u1"}},
		"flat array":     {`{"data":[{"id":"n","region":"NORWAY"},{"id":"c","region":"CANADA"}],"status":"success"}`, []string{"NORWAY/n", "CANADA/c"}},
		"dc_id a string": {`{"data":{"CANADA":[{"id":"c","dc_id":"2"}]},"status":"success"}`, []string{"CANADA/c"}},
		"null data":      {`{"data":null,"status":"success"}`, nil},
		"null region":    {`{"data":{"CANADA":null},"status":"success"}`, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("GET", "/computing/images", ok(c.body))
			images, err := e.client.Compute.Images(bg)
			if err != nil || images == nil {
				t.Fatalf("images %v, err %v", images, err)
			}
			var got []string
			for _, img := range images {
				got = append(got, img.Region+"/"+img.ID)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestImagesBadAnswers(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"no data":      `{"status":"success"}`,
		"region a map": `{"data":{"CANADA":{"id":"c"}},"status":"success"}`,
		"no id":        `{"data":{"CANADA":[{"os_name":"Ubuntu"}]},"status":"success"}`,
		"dc_id a word": `{"data":{"CANADA":[{"id":"c","dc_id":"two"}]},"status":"success"}`,
		"empty body":   ``,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("GET", "/computing/images", ok(body))
			images, err := e.client.Compute.Images(bg)
			if images != nil || !errors.Is(err, ErrUnexpectedResponse) {
				t.Fatalf("images %v, err %v", images, err)
			}
		})
	}
}

func TestComputeRetriedAndErrors(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(hangUp, reply(503, failedEnvelope("busy")), reply(200, docsProducts)))
	products, err := lb.client(t).Compute.Products(bg)
	if err != nil || len(products) != 4 || lb.count() != 3 {
		t.Fatalf("products %d, err %v, %d requests", len(products), err, lb.count())
	}

	e := newTestEnv(t)
	e.reply("GET", "/computing/images", status(401, failedEnvelope("invalid token")))
	if _, err := e.client.Compute.Images(bg); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err %v", err)
	}

	var nilCtx context.Context
	rec := e.anyRequest(ok(docsProducts))
	if _, err := e.client.Compute.Products(nilCtx); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil ctx: %v", err)
	}
	if _, err := e.client.Compute.Images(nilCtx); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil ctx: %v", err)
	}
	if rec.count() != 0 {
		t.Errorf("%d requests for a nil context", rec.count())
	}
}

func TestImageFitsProduct(t *testing.T) {
	t.Parallel()
	// The docs' own examples: dc_id 1 products pair with dc_id 1 images
	// ("fcp..." ids), dc_id 2 with dc_id 2 ("exp..." and "exos...").
	e := newTestEnv(t)
	e.reply("GET", "/computing/products", ok(docsProducts))
	e.reply("GET", "/computing/images", ok(docsImages))
	products, err := e.client.Compute.Products(bg)
	if err != nil {
		t.Fatal(err)
	}
	images, err := e.client.Compute.Images(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		for _, img := range images {
			want := img.Region == "CANADA" && strings.HasPrefix(p.ID, "fcp") == strings.HasPrefix(img.ID, "fcp")
			if got := imageFitsProduct(p, img); got != want {
				t.Errorf("imageFitsProduct(%s, %s) = %v, want %v", p.ID, img.ID, got, want)
			}
		}
	}

	cases := []struct {
		name string
		p    Product
		img  Image
		want bool
	}{
		{"region case differs", Product{Region: "Canada", DataCenterID: 2}, Image{Region: "CANADA", DataCenterID: 2}, true},
		{"other data centre", Product{Region: "CANADA", DataCenterID: 1}, Image{Region: "CANADA", DataCenterID: 2}, false},
		{"product without dc_id", Product{Region: "CANADA"}, Image{Region: "CANADA", DataCenterID: 2}, true},
		{"image without dc_id", Product{Region: "CANADA", DataCenterID: 1}, Image{Region: "CANADA"}, true},
		{"other region, no dc_id", Product{Region: "CANADA"}, Image{Region: "NORWAY"}, false},
	}
	for _, c := range cases {
		if got := imageFitsProduct(c.p, c.img); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func TestImagesFor(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("GET", "/computing/products", ok(docsProducts))
	images := e.reply("GET", "/computing/images", ok(docsImages))
	products, err := e.client.Compute.Products(bg)
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.client.Compute.Images(bg)
	if err != nil {
		t.Fatal(err)
	}
	fits, misses := 0, 0
	for _, p := range products {
		got, err := e.client.Compute.ImagesFor(bg, p)
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]bool{}
		for _, img := range got {
			in[img.ID] = true
		}
		for _, img := range all {
			want := strings.EqualFold(img.Region, p.Region) && (img.DataCenterID == p.DataCenterID || img.DataCenterID == 0 || p.DataCenterID == 0)
			if in[img.ID] != want {
				t.Errorf("product %s (%s, dc %d), image %s (%s, dc %d): listed %v, want %v", p.ID, p.Region, p.DataCenterID, img.ID, img.Region, img.DataCenterID, in[img.ID], want)
			}
			if want {
				fits++
			} else {
				misses++
			}
		}
	}
	if fits == 0 || misses == 0 {
		t.Errorf("the docs' catalog gave %d fits and %d misses: the test shows nothing", fits, misses)
	}
	before := images.count()
	if _, err := e.client.Compute.ImagesFor(bg, Product{ID: "p"}); !errors.Is(err, ErrInvalidArgument) || images.count() != before {
		t.Errorf("a product without region: %v, %d requests", err, images.count()-before)
	}
}
