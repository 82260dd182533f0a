using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Tests.Fakes;
using StarKv.Silo.Hosting;
using StarKv.Silo.Runtime;

namespace StarKv.Silo.Tests;

public sealed class SiloConfigurationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-silo-tests", Guid.NewGuid().ToString("N"));

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "StarKv:Model:Source", "hub", "StarKv:Model:Source must be 'agent', 'tiny' or 'folder'." },
        { "StarKv:Actions:TupleCoordinates", "polar", "StarKv:Actions:TupleCoordinates must be 'resized' or 'normalized1000'." },
        { "StarKv:Model:Device", "gpu0", "StarKv:Model:Device must be 'cpu', 'cuda' or 'cuda:N'." },
        { "StarKv:Model:DType", "int4", "StarKv:Model:DType must be 'float32', 'bfloat16' or 'float16'." },
        { "StarKv:Model:MaxBatchSize", "0", "StarKv:Model:MaxBatchSize must be in 1..4096." },
        { "StarKv:Model:MaxTokensPerIteration", "0", "StarKv:Model:MaxTokensPerIteration must be in 1..16777216." },
        { "StarKv:Capacity:KvBudgetBytes", "0", "StarKv:Capacity:KvBudgetBytes must be a positive number of bytes." },
        { "StarKv:Capacity:HighWatermark", "1.5", "StarKv:Capacity:HighWatermark must be in (0, 1]." },
        { "StarKv:Cluster:Clustering", "zookeeper", "StarKv:Cluster:Clustering must be 'localhost' or 'redis'." },
        { "StarKv:Cluster:AdvertisedAddress", "not-an-ip", "StarKv:Cluster:AdvertisedAddress 'not-an-ip' is not an IP address." },
        { "StarKv:Storage:Kind", "s3", "StarKv:Storage:Kind must be 'filesystem' or 'azureblob'." },
        { "StarKv:Gateway:MaxInstructionChars", "0", "StarKv:Gateway:MaxInstructionChars must be in 1..1048576." },
        { "StarKv:Tenants:0:ApiKeySha256", "abc", "StarKv:Tenants:0:ApiKeySha256 must be 64 hex digits (the SHA-256 of the key); it has 3 characters." },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Start_up_refuses_a_bad_setting_with_a_message_naming_it(string key, string value, string message)
    {
        var settings = SiloTestSupport.FreePortSettings(_root);
        settings["StarKv:Tenants:0:Id"] = "a";
        settings["StarKv:Tenants:0:ApiKeySha256"] = new string('0', 64);
        settings[key] = value;

        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(settings));

        var failures = Failures(error);
        Assert.True(failures.Any(f => f.Contains(message, StringComparison.Ordinal)), $"expected '{message}' among: {string.Join(" | ", failures)}");
    }

    [Fact]
    public async Task Cross_field_rules_name_the_missing_setting()
    {
        var settings = SiloTestSupport.FreePortSettings(_root);
        settings["StarKv:Cluster:Clustering"] = "redis";
        settings["StarKv:Storage:Kind"] = "azureblob";
        settings["StarKv:Storage:Container"] = "Bad_Name";
        settings["StarKv:Model:Source"] = "folder";

        var failures = Failures(await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(settings)));
        settings.Remove("StarKv:Cluster:Clustering");
        failures.AddRange(Failures(await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(settings))));
        settings.Remove("StarKv:Storage:Kind");
        failures.AddRange(Failures(await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(settings))));

        Assert.Contains("StarKv:Cluster:RedisConnectionString is required when StarKv:Cluster:Clustering is 'redis'.", failures);
        Assert.Contains("StarKv:Storage:AzureBlobConnectionString is required when StarKv:Storage:Kind is 'azureblob'.", failures);
        Assert.Contains(failures, f => f.StartsWith("StarKv:Storage:Container: The container name 'Bad_Name'", StringComparison.Ordinal));
        Assert.Contains("StarKv:Model:Path is required when StarKv:Model:Source is 'folder' (the model folder with config.json).", failures);
    }

    [Fact]
    public void The_runtime_factory_refuses_a_cuda_device_on_the_cpu_build_with_a_clear_message()
    {
        var settings = SiloTestSupport.FreePortSettings(_root);
        settings["StarKv:Model:Device"] = "cuda:0";
        using var app = SiloHost.Build(new SiloLaunch { Overrides = settings });

        var error = Assert.Throws<ModelRuntimeUnavailableException>(() => app.Services.GetRequiredService<IModelRuntime>());

        Assert.Contains("StarKv:Model:Device is 'cuda:0' but CUDA is not available", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static async Task StartAsync(Dictionary<string, string?> settings)
    {
        await using var app = SiloHost.Build(new SiloLaunch { Overrides = settings, ConfigureServices = Fake });
        await app.StartAsync();
    }

    private static void Fake(IServiceCollection services) => services.AddSingleton<IModelRuntimeFactory>(new FakeRuntimeFactory(new FakeModelRuntime()));

    private static List<string> Failures(Exception error) => error switch
    {
        OptionsValidationException options => [.. options.Failures],
        AggregateException aggregate => [.. aggregate.InnerExceptions.SelectMany(Failures)],
        _ => [error.Message],
    };
}
