package nebulatest

// catalog is the products and images the fake offers.
type catalog struct{}

func defaultCatalog() catalog { return catalog{} }
