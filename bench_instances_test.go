package nebula

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkInstancesList compares Instances.List of 1 000 instances with a
// plain net/http + encoding/json client decoding the same answer into an
// equivalent struct, against the same loopback server in the same run:
//
//	go test -run '^$' -bench InstancesList -benchmem -count 5 . | tee bench.txt
//
// The plain struct reads the numbers as json.Number, which, like the SDK,
// takes both 28 and "28" (the docs show both) and keeps 0.679 exact.

// plainInstance is what a careful hand-written client would decode an
// instance into.
type plainInstance struct {
	ID           string      `json:"id"` // the docs show string IDs
	Region       string      `json:"region"`
	ProductType  string      `json:"product_type"`
	HostName     string      `json:"host_name"`
	CPUCores     json.Number `json:"cpu_cores"`
	RAM          json.Number `json:"ram"`
	GPU          string      `json:"gpu"`
	GPUType      string      `json:"gpu_type"`
	GPUCount     json.Number `json:"gpu_count"`
	DiskSize     json.Number `json:"disk_size"`
	Ephemeral    json.Number `json:"ephemeral"`
	PublicIPv4   string      `json:"public_ipv4"`
	LANIPv4      string      `json:"lan_ipv4"`
	PricePerHour json.Number `json:"price_per_hour"`
	OS           string      `json:"os"`
	Status       string      `json:"status"`
}

type plainInstanceList struct {
	Data    []plainInstance `json:"data"`
	Total   int             `json:"total_instance"`
	Message string          `json:"message"`
	Status  string          `json:"status"`
}

// instanceListBody is a list answer of n instances shaped like the docs'
// example, with total_instance.
func instanceListBody(n int) []byte {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"id": "%d-e703-4400-b77d-8ed545d198ee", "region": "CANADA", "product_type": "GPU", "host_name": "demo-%d",
 "cpu_cores": 28, "ram": 58, "gpu_type": "RTX-A6000", "gpu_count": 1, "disk_size": 100, "ephemeral": 1500,
 "public_ipv4": "38.80.81.128", "price_per_hour": 0.679, "os": "Ubuntu Server 20.04 LTS (Focal Fossa)", "status": "Running"}`, 1000+i, i)
	}
	return []byte(listOf(n, items...))
}

func BenchmarkInstancesList(b *testing.B) {
	const n = 1000
	body := instanceListBody(n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	ctx := context.Background()

	sdk := benchSDK(b, srv)
	b.Run("client=sdk", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			page, err := sdk.Instances.List(ctx, ListOptions{})
			if err != nil || len(page.Items) != n {
				b.Fatal(err)
			}
		}
	})

	plain := newPlainClient(srv)
	b.Run("client=plain", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			list, err := plain.listInstances(ctx)
			if err != nil || len(list.Data) != n {
				b.Fatal(err)
			}
		}
	})
}

func (p *plainClient) listInstances(ctx context.Context) (*plainInstanceList, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/computing/instances", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "plain/1.0")
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list plainInstanceList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || list.Status != "success" {
		return nil, fmt.Errorf("list: %s", strings.TrimSpace(list.Message))
	}
	return &list, nil
}
