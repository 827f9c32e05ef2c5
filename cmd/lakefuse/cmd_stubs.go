package main

import "errors"

var errNotBuilt = errors.New("not built yet: this command lands in a later release of lakefuse")
