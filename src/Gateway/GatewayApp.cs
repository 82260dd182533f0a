namespace StarKv.Gateway;

/// <summary>Builds the gateway's web application; Program.cs and the tests share it.</summary>
public static class GatewayApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok"));
        return app;
    }
}
