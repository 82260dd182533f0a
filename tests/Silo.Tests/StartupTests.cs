using System.CommandLine;
using System.Xml.Linq;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using StarKv.Grains.Tests.Fakes;
using StarKv.Silo.Cli;
using StarKv.Silo.Configuration;
using StarKv.Silo.Hosting;
using StarKv.Silo.Runtime;
using StarKv.Silo.Tests.Manifests;

namespace StarKv.Silo.Tests;

/// <summary>Start-up and configuration as a new user meets them: clean errors, warnings for typos, the lines printed.</summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-startup-tests", Guid.NewGuid().ToString("N"));

    public static TheoryData<string, string> BadSetValues => new()
    {
        { "StarKv:Gateway:GrpcPort=notaport", "StarKv:Gateway:GrpcPort is 'notaport', which is not a whole number" },
        { "StarKv:Gateway:GrpcPort=70000", "StarKv:Gateway:GrpcPort must be a TCP port (0..65535)." },
        { "StarKv:Gateway:MaxImageBytes=abc", "StarKv:Gateway:MaxImageBytes is 'abc', which is not a whole number." },
        { "StarKv:Tenants:0:MaxSessions=0", "StarKv:Tenants:0:MaxSessions must be at least 1; it is 0." },
        { "StarKv:Capacity:KvBudgetBytes=-5", "StarKv:Capacity:KvBudgetBytes must be a positive number of bytes." },
        { "StarKv:Gateway:BindAddress=everywhere", "StarKv:Gateway:BindAddress 'everywhere' is not an IP address, 'any' or 'loopback'." },
        { "StarKv:Gateway:TlsCertificatePath=/nowhere/cert.pem", "StarKv:Gateway:TlsCertificatePath and StarKv:Gateway:TlsKeyPath go together" },
    };

    [Theory]
    [MemberData(nameof(BadSetValues))]
    public async Task A_bad_setting_stops_start_up_with_one_clean_message_and_no_stack_trace(string setting, string message)
    {
        var (exitCode, output, errors) = await RunAsync(["--no-demo", "--set", setting, "--set", "StarKv:Tenants:0:Id=a", "--set", $"StarKv:Tenants:0:ApiKeySha256={new string('0', 64)}"]);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, errors, StringComparison.Ordinal);
        Assert.StartsWith("The configuration is invalid:", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors + output, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(errors, message));
    }

    [Fact]
    public async Task A_mistyped_key_is_warned_about_with_the_key_it_resembles()
    {
        var (exitCode, _, errors) = await RunAsync(["--steps", "1", "--exit-after-demo", "--set", "StarKv:Gatway:MaxInstructionChars=100", "--set", "StarKv:Nothing:Here=1"]);

        Assert.Equal(0, exitCode);
        Assert.Contains("warning: StarKv:Gatway:MaxInstructionChars is not a StarKv configuration key, so it is ignored (did you mean StarKv:Gateway:MaxInstructionChars?).", errors, StringComparison.Ordinal);
        Assert.Contains("warning: StarKv:Nothing:Here is not a StarKv configuration key, so it is ignored.", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--steps", "-1", "--steps must be 1 or more; it is -1.")]
    [InlineData("--steps", "0", "--steps must be 1 or more; it is 0.")]
    [InlineData("--budget", "1.5", "--budget must be in (0, 1]; it is 1.5.")]
    public async Task Demo_options_out_of_range_are_refused(string option, string value, string message)
    {
        var runtime = new FakeModelRuntime();
        using var output = new StringWriter();
        using var errors = new StringWriter();

        var exitCode = await SiloCommand.Create(s => s.AddSingleton<IModelRuntimeFactory>(new FakeRuntimeFactory(runtime)), output, errors)
            .Parse([option, value, "--exit-after-demo"]).InvokeAsync(new InvocationConfiguration { Output = output, Error = errors });

        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, errors.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, runtime.StepsRun);
    }

    [Fact]
    public async Task Relative_paths_are_resolved_against_the_directory_the_command_runs_in()
    {
        var (exitCode, _, errors) = await RunAsync(["--screenshots", "no-such-folder/gui"]);

        Assert.Equal(2, exitCode);
        var expected = Path.Combine(Directory.GetCurrentDirectory(), "no-such-folder", "gui");
        Assert.Contains($"--screenshots: the folder '{expected}' does not exist (relative paths start from {Directory.GetCurrentDirectory()}).", errors, StringComparison.Ordinal);

        // dotnet run starts both programs in the caller's directory, not their project folders (the Web SDK's default).
        foreach (var project in new[] { "src/Silo/Silo.csproj", "src/Gateway/Gateway.csproj" })
        {
            var folder = XDocument.Load(Path.Combine(RepositoryRoot.Path, project)).Descendants("RunWorkingDirectory").Single().Value;
            Assert.Equal("$(MSBuildStartupDirectory)", folder);
        }
    }

    [Fact]
    public void State_is_kept_out_of_the_source_tree_by_default()
    {
        var storage = new StorageSettings();

        Assert.Equal(StorageSettings.DefaultPath, storage.ResolvedPath);
        Assert.False(storage.ResolvedPath.StartsWith(RepositoryRoot.Path, StringComparison.Ordinal), storage.ResolvedPath);
        Assert.Equal("starkv", Path.GetFileName(storage.ResolvedPath));
        var ignored = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, ".gitignore"));
        Assert.Contains(".starkv/", ignored);
    }

    [Fact]
    public async Task Serving_without_the_demo_says_where_to_connect_how_to_add_a_tenant_and_once_how_to_stop()
    {
        using var stop = new CancellationTokenSource();
        using var output = new LineSignal("Serving; press Ctrl+C to stop.", stop);
        using var errors = new StringWriter();
        var args = new List<string> { "--no-demo" };
        foreach (var (key, value) in SiloTestSupport.FreePortSettings(_root))
        {
            args.Add("--set");
            args.Add($"{key}={value}");
        }

        var exitCode = await SiloCommand.Create(s => s.AddSingleton<IModelRuntimeFactory>(new FakeRuntimeFactory(new FakeModelRuntime())), output, errors)
            .Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = errors }, stop.Token);

        var text = output.ToString();
        Assert.Equal(0, exitCode);
        Assert.Matches(@"gRPC gateway \(protos/starkv\.proto\) at http://127\.0\.0\.1:\d+ \(plaintext; .*; this machine only\)", text);
        Assert.Contains("No tenant is configured, so every call is refused (UNAUTHENTICATED); add one:", text, StringComparison.Ordinal);
        Assert.Contains("--set StarKv:Tenants:0:ApiKeySha256=$(printf '%s' \"$KEY\" | sha256sum | cut -d' ' -f1)", text, StringComparison.Ordinal);
        Assert.Contains($"State and KV checkpoints: {_root}", text, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(text + errors, "Ctrl+C"));
        Assert.DoesNotContain("Participant check thread", text + errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_embedded_mode_listens_on_loopback_unless_told_otherwise()
    {
        var settings = SiloTestSupport.FreePortSettings(_root);
        await using (var local = SiloHost.Build(new SiloLaunch { Overrides = settings, ConfigureServices = Fake }))
        {
            await local.StartAsync();
            var addresses = local.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            Assert.Equal(2, addresses.Count);
            Assert.All(addresses, a => Assert.StartsWith("http://127.0.0.1:", a, StringComparison.Ordinal));
            await local.StopAsync();
        }

        settings = SiloTestSupport.FreePortSettings(_root);
        settings["StarKv:Gateway:BindAddress"] = "any";
        await using var open = SiloHost.Build(new SiloLaunch { Overrides = settings, ConfigureServices = Fake });
        await open.StartAsync();
        var opened = open.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.All(opened, a => Assert.StartsWith("http://0.0.0.0:", a, StringComparison.Ordinal));
        await open.StopAsync();
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static void Fake(IServiceCollection services) => services.AddSingleton<IModelRuntimeFactory>(new FakeRuntimeFactory(new FakeModelRuntime()));

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    private async Task<(int ExitCode, string Output, string Errors)> RunAsync(IEnumerable<string> extra)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        // The free ports first: a later --set wins, and some cases set a port themselves.
        var args = new List<string>();
        foreach (var (key, value) in SiloTestSupport.FreePortSettings(_root))
        {
            args.Add("--set");
            args.Add($"{key}={value}");
        }

        args.AddRange(extra);

        var exitCode = await SiloCommand.Create(Fake, output, errors).Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = errors });
        return (exitCode, output.ToString(), errors.ToString());
    }

    /// <summary>An output that cancels <paramref name="stop"/> once a line containing <paramref name="signal"/> is written.</summary>
    private sealed class LineSignal(string signal, CancellationTokenSource stop) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(signal, StringComparison.Ordinal) == true)
            {
                stop.Cancel();
            }
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }
    }
}
