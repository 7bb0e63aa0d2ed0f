package nebula_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	nebula "github.com/nebula-sdk/nebula-go"
)

// catalogServer answers the catalog routes with a shortened copy of the
// docs' examples, so that the example runs without an account.
func catalogServer() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/computing/products", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":{"CANADA":{
			"H100":[{"id":"fcp66d566c43a9501001256","dc_id":1,"product_type":"Container","region":"CANADA","price_per_hour":1.0,"cpu":24,"ram":200,"gpu":"H100-80G-SXM","gpu_type":"H100","gpu_count":1,"disk_size":200,"ephemeral":1500,"stock":99,"cycle":"hourly","is_available":true}],
			"A100":[{"id":"expd4b024f34-c9f3-4c41-ade4-4b56bbe3c64b","dc_id":2,"product_type":"Virtual Machine","region":"CANADA","price_per_hour":1.867,"cpu":28,"ram":120,"gpu":"A100-80G-PCIe","gpu_type":"A100","gpu_count":1,"disk_size":100,"ephemeral":750,"stock":0,"cycle":"hourly","is_available":false}]
		}},"message":"All products retrieved successfully","status":"success"}`)
	})
	mux.HandleFunc("GET /api/v1/computing/images", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":{"CANADA":[
			{"id":"fcp66d566c93a95010012","dc_id":1,"os_name":"Ubuntu Server 22.04 LTS","os_type":"Ubuntu","region":"CANADA"},
			{"id":"exoscee6e762-1d11-4f65-a7d6-8c0670b603b2","dc_id":2,"os_name":"Ubuntu Server 22.04 LTS R535 CUDA 12.2","os_type":"Ubuntu","region":"CANADA"}
		]},"message":"All OS retrieved successfully","status":"success"}`)
	})
	return httptest.NewServer(mux)
}

func ExampleComputeService_Products() {
	srv := catalogServer()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	products, err := client.Compute.Products(ctx)
	if err != nil {
		log.Fatal(err)
	}
	images, err := client.Compute.Images(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Sorted by region, then GPU family.
	for _, p := range products {
		fmt.Printf("%s %s %dx %s (%s) $%s/h available=%v\n", p.Region, p.Family, p.GPUCount, p.GPU, p.ProductType, p.PricePerHour, p.Available)
	}
	// An image goes with the products of its region and data centre.
	for _, img := range images {
		fmt.Println(img.Region, img.DataCenterID, img.OSName)
	}
	// Output:
	// CANADA A100 1x A100-80G-PCIe (Virtual Machine) $1.867/h available=false
	// CANADA H100 1x H100-80G-SXM (Container) $1.0/h available=true
	// CANADA 1 Ubuntu Server 22.04 LTS
	// CANADA 2 Ubuntu Server 22.04 LTS R535 CUDA 12.2
}
