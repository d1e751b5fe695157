module ebpftrace/peers/gologs

go 1.21
