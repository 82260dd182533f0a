using Microsoft.Extensions.Options;
using StarKv.Gateway;

WebApplication app;
try
{
    app = GatewayApp.Build(args);
}
catch (OptionsValidationException error)
{
    await Console.Error.WriteLineAsync("The configuration is invalid:\n  " + string.Join("\n  ", error.Failures)).ConfigureAwait(false);
    return 2;
}

await using (app.ConfigureAwait(false))
{
    await app.RunAsync().ConfigureAwait(false);
}

return 0;
