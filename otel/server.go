package nebulaotel

import "github.com/nebula-sdk/nebula-go"

// serverOf returns the server.address and server.port of a call.
func serverOf(info nebula.CallInfo) (addr string, port int, ok bool) {
	return info.ServerAddress, info.ServerPort, info.ServerAddress != ""
}
