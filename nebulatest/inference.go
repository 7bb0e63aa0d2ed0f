package nebulatest

func defaultModels() []map[string]any { return nil }
