module ebpftrace/peers/goclients

go 1.21
