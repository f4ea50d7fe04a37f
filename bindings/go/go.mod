module fwmerge

go 1.21
