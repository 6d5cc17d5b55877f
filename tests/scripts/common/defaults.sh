#!/bin/sh
# The settings our TCP scripts assume, applied before each one (as packetdrill's own suites do): the
# buffers behind "wscale 8", timestamps and SACK on, cubic, tail loss probes and RACK at their defaults,
# no ECN, no idle restart, and a pfifo on tun0. The Xmit runner reads this file line by line.
sysctl -q net.ipv4.tcp_rmem="4096 540000 15728640"
sysctl -q net.ipv4.tcp_wmem="4096 262144 4194304"
sysctl -q net.ipv4.tcp_timestamps=1
sysctl -q net.ipv4.tcp_sack=1
sysctl -q net.ipv4.tcp_syn_retries=5
sysctl -q net.ipv4.tcp_synack_retries=5
sysctl -q net.ipv4.tcp_reordering=3
sysctl -q net.ipv4.tcp_congestion_control=cubic
sysctl -q net.ipv4.tcp_slow_start_after_idle=0
sysctl -q net.ipv4.tcp_early_retrans=4
sysctl -q net.ipv4.tcp_tso_win_divisor=3
sysctl -q net.ipv4.tcp_ecn=0
sysctl -q net.ipv4.tcp_notsent_lowat=4294967295
tc qdisc add dev tun0 root pfifo
