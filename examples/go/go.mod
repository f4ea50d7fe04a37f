module fwmerge/examples/quadratic

go 1.21

require fwmerge v0.0.0

replace fwmerge => ../../bindings/go
