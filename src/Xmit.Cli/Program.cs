using Xmit.Cli;

return XmitCli.Run(args, Console.Out, Console.Error);
