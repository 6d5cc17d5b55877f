using System.CommandLine;
using Xmit.Cli;
using Xmit.Cli.Commands;

var seed = CliOptions.Seed();
var pcap = CliOptions.Pcap();

var sim = new Command("sim", "Run hosts on simulated links in deterministic virtual time. With no subcommand: host A floods host B with UDP and the report explains every EAGAIN") { seed, pcap };
SimFloodCommand.Configure(sim, seed, pcap);
sim.Subcommands.Add(SimPingCommand.Create(seed, pcap));
sim.Subcommands.Add(SimTcpCommand.Create(seed, pcap));

var root = new RootCommand("xmit: a user-space TCP/UDP/IPv4 stack whose transmit path behaves like Linux's");
root.Subcommands.Add(sim);
root.Subcommands.Add(TapCommand.Create(seed, pcap));
root.Subcommands.Add(PacketdrillCommand.Create());
return root.Parse(args).Invoke();
