module github.com/fwmerge/fwmerge/examples/go

go 1.21

require github.com/fwmerge/fwmerge/bindings/go v0.0.0

replace github.com/fwmerge/fwmerge/bindings/go => ../../bindings/go
