package nebula

// CloseSharedIdleConnections closes the idle connections of the transport
// every Client made without WithHTTPClient shares, for a test of the
// external package whose Client talked to a real server: its connections'
// goroutines would otherwise outlive the run, and the leak check fail it.
func CloseSharedIdleConnections() { sharedTransport().CloseIdleConnections() }
