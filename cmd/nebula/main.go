// Command nebula manages a Nebula Block account from a terminal or a shell
// script: API keys, SSH keys, the compute catalog, GPU instances, billing
// and inference, built on the nebula-go SDK.
//
//	go install github.com/nebula-sdk/nebula-go/cmd/nebula@latest
//	nebula auth login
//	nebula instance list
//
// Every command has -h with an example. Exit status: 0 success; 1 the API
// refused or failed; 2 bad usage or input (nothing was sent); 3 outcome
// unknown (the message names the command that settles it); 4 not found;
// 130 interrupted.
package main

import (
	"os"

	"github.com/nebula-sdk/nebula-go/cmd/nebula/internal/cli"
)

func main() { os.Exit(cli.Main()) }
