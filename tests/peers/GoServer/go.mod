module ebpftrace/peers/goserver

go 1.21
