using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.Extensions.Options;
using StarKv.Silo.Configuration;
using StarKv.Silo.Demo;
using StarKv.Silo.Hosting;
using StarKv.Silo.Runtime;

namespace StarKv.Silo.Cli;

/// <summary>
/// The command line of the silo program. Without options it runs the embedded cluster (silo, gateway, runtime and
/// filesystem storage in this process) and a demo client against it, then serves until Ctrl+C.
/// </summary>
public static class SiloCommand
{
    /// <param name="configureServices">Last word on the host's services (tests hand in a model runtime).</param>
    /// <param name="output">Where the program's lines go (default: standard output).</param>
    /// <param name="errors">Where errors and warnings go (default: standard error).</param>
    public static RootCommand Create(Action<IServiceCollection>? configureServices = null, TextWriter? output = null, TextWriter? errors = null)
    {
        var steps = new Option<int>("--steps") { Description = "Steps the demo session runs (1 or more).", DefaultValueFactory = _ => 8 };
        steps.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError($"--steps must be 1 or more; it is {r.GetValueOrDefault<int>()}.");
            }
        });
        var method = new Option<string>("--method") { Description = "Compression method of the demo session (starkv, snapkv, full, ...).", DefaultValueFactory = _ => "starkv" };
        var budget = new Option<double>("--budget") { Description = "KV budget of the demo session as a fraction of the tokens seen, in (0, 1].", DefaultValueFactory = _ => 0.2 };
        budget.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<double>();
            if (!(value > 0 && value <= 1))
            {
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"--budget must be in (0, 1]; it is {value}."));
            }
        });
        var modelFolder = new Option<string?>("--model-folder") { Description = "Serve the Hugging Face model in this folder (StarKv:Model:Source=folder) instead of the built-in tiny model." };
        var modelId = new Option<string?>("--model-id") { Description = "The id clients name the model by (StarKv:Model:Id)." };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or cuda:N (StarKv:Model:Device)." };
        var kvBudget = new Option<long?>("--kv-budget-bytes") { Description = "This silo's KV memory budget in bytes (StarKv:Capacity:KvBudgetBytes)." };
        var grpcPort = new Option<int?>("--grpc-port") { Description = "Port of the gRPC gateway (StarKv:Gateway:GrpcPort, default 5080)." };
        var data = new Option<string?>("--data") { Description = $"Folder of the filesystem storage (StarKv:Storage:Path, default {StorageSettings.DefaultPath})." };
        var screenshots = new Option<string?>("--screenshots") { Description = "Folder of PNG/JPEG screenshots the demo sends instead of synthetic ones (with an annotations.json, each with its instruction), for example samples/gui." };
        var noDemo = new Option<bool>("--no-demo") { Description = "Serve without running the demo client." };
        var noGateway = new Option<bool>("--no-gateway") { Description = "Run a bare silo, as with Redis clustering (the gateway runs apart); implies --no-demo." };
        var exitAfterDemo = new Option<bool>("--exit-after-demo") { Description = "Stop once the demo has run instead of serving until Ctrl+C." };
        var set = new Option<string[]>("--set") { Description = "Any configuration key, as KEY=VALUE (for example StarKv:Cluster:SiloPort=11112); repeatable.", AllowMultipleArgumentsPerToken = false };
        var selfCheck = new Option<bool>("--self-check") { Description = "Check that libtorch loads and computes attention correctly, then exit." };

        var command = new RootCommand(
            "StarKV silo: serves GUI-agent sessions with compressed KV caches. Without options (localhost clustering): one process with the silo, " +
            $"the gRPC gateway on loopback, the model runtime and filesystem storage under {StorageSettings.DefaultPath}, plus a demo client. " +
            "With StarKv:Cluster:Clustering=redis it runs a bare silo (the gateway runs apart). Configuration: appsettings.json, " +
            "StarKv__Section__Key environment variables, --set. Relative paths are taken from the directory you run the command in.")
        {
            steps, method, budget, screenshots, modelFolder, modelId, device, kvBudget, grpcPort, data, noDemo, noGateway, exitAfterDemo, set, selfCheck,
        };

        command.SetAction(async (result, cancellationToken) =>
        {
            var console = output ?? Console.Out;
            var error = errors ?? Console.Error;
            if (result.GetValue(selfCheck))
            {
                var report = TorchSelfCheck.Run();
                await console.WriteLineAsync($"torch {report.TorchVersion}, {report.Threads} threads; scaled_dot_product_attention vs double-precision loop: max abs error {report.SdpaMaxAbsError:E2}").ConfigureAwait(false);
                return report.SdpaMaxAbsError < 1e-5 ? 0 : 1;
            }

            var overrides = new Dictionary<string, string?>();
            foreach (var pair in result.GetValue(set) ?? [])
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    await error.WriteLineAsync($"--set expects KEY=VALUE; got '{pair}'.").ConfigureAwait(false);
                    return 2;
                }

                overrides[pair[..equals].Trim()] = pair[(equals + 1)..];
            }

            var screenshotFolder = FullPath(result.GetValue(screenshots));
            if (screenshotFolder is not null && !Directory.Exists(screenshotFolder))
            {
                await error.WriteLineAsync($"--screenshots: the folder '{screenshotFolder}' does not exist (relative paths start from {Directory.GetCurrentDirectory()}).").ConfigureAwait(false);
                return 2;
            }

            if (FullPath(result.GetValue(modelFolder)) is { } folder)
            {
                overrides["StarKv:Model:Source"] = "folder";
                overrides["StarKv:Model:Path"] = folder;
            }

            Set(overrides, "StarKv:Model:Id", result.GetValue(modelId));
            Set(overrides, "StarKv:Model:Device", result.GetValue(device));
            Set(overrides, "StarKv:Capacity:KvBudgetBytes", result.GetValue(kvBudget)?.ToString(CultureInfo.InvariantCulture));
            Set(overrides, "StarKv:Gateway:GrpcPort", result.GetValue(grpcPort)?.ToString(CultureInfo.InvariantCulture));
            Set(overrides, "StarKv:Storage:Path", FullPath(result.GetValue(data)));

            // A multi-host cluster (Redis clustering, as on Kubernetes) runs its gateway apart and no demo.
            var clustering = new ConfigurationBuilder().AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
                .AddEnvironmentVariables().AddInMemoryCollection(overrides).Build()["StarKv:Cluster:Clustering"] ?? "localhost";
            var hostGateway = !result.GetValue(noGateway) && clustering == "localhost";
            var runDemo = hostGateway && !result.GetValue(noDemo);
            var demoKey = runDemo ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)) : null;
            var launch = new SiloLaunch { HostGateway = hostGateway, Overrides = overrides, DemoApiKey = demoKey, ConfigureServices = configureServices, Warnings = error };
            return await RunAsync(launch, runDemo ? new DemoSettings
            {
                Model = "",
                Method = result.GetValue(method)!,
                BudgetRatio = result.GetValue(budget),
                Steps = result.GetValue(steps),
                ScreenshotFolder = screenshotFolder,
            } : null, result.GetValue(exitAfterDemo), console, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(SiloLaunch launch, DemoSettings? demo, bool exitAfterDemo, TextWriter console, TextWriter errors, CancellationToken cancellationToken)
    {
        WebApplication app;
        try
        {
            app = SiloHost.Build(launch);
        }
        catch (OptionsValidationException error)
        {
            await errors.WriteLineAsync("The configuration is invalid:\n  " + string.Join("\n  ", error.Failures)).ConfigureAwait(false);
            return 2;
        }

        await using var disposable = app;
        try
        {
            // Every setting is checked before anything starts, so all failures show together and none with a stack trace.
            SiloHost.ValidateOptions(app.Services);
            // Resolving the runtime first reads StarKv:Model and loads the model before the silo joins.
            _ = app.Services.GetRequiredService<GpuWorker.Sessions.IModelRuntime>();
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OptionsValidationException error)
        {
            await errors.WriteLineAsync("The configuration is invalid:\n  " + string.Join("\n  ", error.Failures)).ConfigureAwait(false);
            return 2;
        }
        catch (ModelRuntimeUnavailableException error)
        {
            await errors.WriteLineAsync(error.Message).ConfigureAwait(false);
            return 3;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        var exitCode = 0;
        if (demo is not null)
        {
            var model = app.Services.GetRequiredService<GpuWorker.Sessions.IModelRuntime>().ModelId;
            try
            {
                var client = new DemoClient(SiloHost.LoopbackGrpcAddress(app.Configuration), launch.DemoApiKey!, console);
                await client.RunAsync(demo with { Model = model }, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException error) when (error.StatusCode != StatusCode.Cancelled)
            {
                await errors.WriteLineAsync($"The demo failed: {error.Status.StatusCode}: {error.Status.Detail}").ConfigureAwait(false);
                exitCode = 1;
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C during the demo: shut down below.
            }
            catch (RpcException)
            {
                // Cancelled by Ctrl+C.
            }
        }

        if (!exitAfterDemo && !cancellationToken.IsCancellationRequested)
        {
            await console.WriteLineAsync(ServingBanner.Describe(app, launch, demo is not null)).ConfigureAwait(false);
            var stopped = new TaskCompletionSource();
            using var registration = cancellationToken.Register(() => stopped.TrySetResult());
            await Task.WhenAny(stopped.Task, app.WaitForShutdownAsync(CancellationToken.None)).ConfigureAwait(false);
        }

        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return exitCode;
    }

    /// <summary>A path the user typed, absolute from the current directory (the caller's: see Silo.csproj's RunWorkingDirectory).</summary>
    private static string? FullPath(string? path) => string.IsNullOrWhiteSpace(path) ? null : Path.GetFullPath(path);

    private static void Set(Dictionary<string, string?> overrides, string key, string? value)
    {
        if (value is not null)
        {
            overrides[key] = value;
        }
    }
}
