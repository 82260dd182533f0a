using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using StarKv.Grains.Tests.Fakes;
using StarKv.Silo.Cli;
using StarKv.Silo.Runtime;

namespace StarKv.Silo.Tests;

public sealed class SiloCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-silo-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Help_lists_the_options()
    {
        using var output = new StringWriter();

        var exitCode = await SiloCommand.Create().Parse(["--help"]).InvokeAsync(new InvocationConfiguration { Output = output });

        Assert.Equal(0, exitCode);
        var help = output.ToString();
        foreach (var option in new[] { "--steps", "--method", "--budget", "--model-folder", "--model-id", "--device", "--kv-budget-bytes", "--grpc-port", "--data", "--no-demo", "--no-gateway", "--exit-after-demo", "--set", "--self-check" })
        {
            Assert.Contains(option, help, StringComparison.Ordinal);
        }

        Assert.Contains("[default: 8]", help, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_embedded_mode_runs_the_demo_through_the_gateway_and_exits_cleanly()
    {
        var runtime = new FakeModelRuntime();
        using var output = new StringWriter();
        var command = SiloCommand.Create(s => s.AddSingleton<IModelRuntimeFactory>(new FakeRuntimeFactory(runtime)), output);
        var args = new List<string> { "--steps", "3", "--budget", "0.5", "--exit-after-demo" };
        foreach (var (key, value) in SiloTestSupport.FreePortSettings(_root))
        {
            args.Add("--set");
            args.Add($"{key}={value}");
        }

        var exitCode = await command.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output });

        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Equal(3, runtime.StepsRun);
        var steps = text.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, steps.Count);
        Assert.All(steps, l => Assert.Contains("click (", l, StringComparison.Ordinal));
        Assert.All(steps, l => Assert.Contains("full (50%)", l, StringComparison.Ordinal));
        Assert.Contains("demo: 3 steps in 3 tasks", text, StringComparison.Ordinal);
        Assert.Equal(3, text.Split('\n').Count(l => l.StartsWith("task ", StringComparison.Ordinal)));
        Assert.Contains("2.0x smaller", text, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_root, "state")), "grain state was written under the storage folder");
    }

    [Fact]
    public async Task The_embedded_mode_runs_the_built_in_agent_end_to_end()
    {
        using var output = new StringWriter();
        var args = new List<string> { "--steps", "2", "--exit-after-demo" };
        foreach (var (key, value) in SiloTestSupport.FreePortSettings(_root))
        {
            args.Add("--set");
            args.Add($"{key}={value}");
        }

        var exitCode = await SiloCommand.Create(output: output).Parse(args).InvokeAsync(new InvocationConfiguration { Output = output });

        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Contains("model gui-agent, method starkv", text, StringComparison.Ordinal);
        var steps = text.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, steps.Count);
        Assert.All(steps, l => Assert.True(l.Contains(" hit ", StringComparison.Ordinal) || l.Contains(" miss ", StringComparison.Ordinal), l));
        Assert.Contains("demo: 2 steps in 2 tasks", text, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
