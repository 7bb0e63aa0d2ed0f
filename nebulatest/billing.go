package nebulatest

// billing is the account's balance, credit history and invoices.
type billing struct{}

func defaultBilling() billing { return billing{} }
