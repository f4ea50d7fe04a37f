module github.com/fwmerge/fwmerge/bindings/go

go 1.21
