package nebulaotel

import (
	"reflect"

	"github.com/nebula-sdk/nebula-go"
)

// serverFields locates CallInfo.ServerAddress (string) and
// CallInfo.ServerPort (int), the base URL's host and port, which the SDK's
// CallInfo is to gain; nil while it has not. Until then spans and metrics
// go without server.address and server.port rather than guess them.
//
// TODO(lead): once nebula.CallInfo has the fields, replace serverOf's body
// with `return info.ServerAddress, info.ServerPort, info.ServerAddress != ""`
// and delete this file's reflection.
var serverFields = func() [][]int {
	t := reflect.TypeFor[nebula.CallInfo]()
	addr, ok1 := t.FieldByName("ServerAddress")
	port, ok2 := t.FieldByName("ServerPort")
	if !ok1 || !ok2 || addr.Type.Kind() != reflect.String || port.Type.Kind() != reflect.Int {
		return nil
	}
	return [][]int{addr.Index, port.Index}
}()

// serverOf returns the server.address and server.port of a call.
func serverOf(info nebula.CallInfo) (addr string, port int, ok bool) {
	if serverFields == nil {
		return "", 0, false
	}
	v := reflect.ValueOf(info)
	addr = v.FieldByIndex(serverFields[0]).String()
	port = int(v.FieldByIndex(serverFields[1]).Int())
	return addr, port, addr != ""
}
