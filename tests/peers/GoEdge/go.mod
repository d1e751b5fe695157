module ebpftrace/peers/goedge

go 1.21
