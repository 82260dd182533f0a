using System.CommandLine;
using StarKv.Silo.Cli;

// Ctrl+C cancels the action's token; the silo then moves its sessions away and stops (up to a minute).
return await SiloCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(1) }).ConfigureAwait(false);
