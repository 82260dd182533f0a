using StarKv.AgentTraining.Training;
using StarKv.GpuWorker.Runtime;
using StarKv.SyntheticGui.Tasks;
using TorchSharp;

namespace StarKv.AgentTraining.Tests;

/// <summary>
/// The checkpoint shipped in <c>models/tiny-gui-agent</c>, loaded by the runtime's loader like a real one, still does its
/// job: on the first held-out test tasks (full cache, greedy decoding through agent sessions) it scores far above
/// chance. The floors sit well under the accuracy the evaluation harness measures on 600 test tasks (README), so the
/// test is robust, and far above what a model with random weights scores (zero: it writes no valid action).
/// </summary>
public sealed class ShippedAgentTests
{
    private static string ModelFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var folder = Path.Combine(dir.FullName, "models", "tiny-gui-agent");
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")) && File.Exists(Path.Combine(folder, "config.json")))
            {
                return folder;
            }
        }

        throw new DirectoryNotFoundException($"No models/tiny-gui-agent in the repository above {AppContext.BaseDirectory}.");
    }

    private static List<SuiteTask> FirstTestTasks(TaskKind kind, int count)
    {
        var tasks = new List<SuiteTask>();
        for (var i = 0L; tasks.Count < count; i++)
        {
            var task = TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Test, i), new SuiteOptions());
            if (task.Kind == kind)
            {
                tasks.Add(task);
            }
        }

        return tasks;
    }

    [Fact]
    public void The_shipped_agent_grounds_and_remembers_far_above_chance()
    {
        using var runtime = Qwen25VlRuntime.LoadFolder(ModelFolder(), "gui-agent", torch.CPU, torch.ScalarType.Float32);
        var grounding = SuiteValidation.Run(runtime, FirstTestTasks(TaskKind.Grounding, 30), CancellationToken.None);
        var memory = SuiteValidation.Run(runtime, FirstTestTasks(TaskKind.Memory, 12), CancellationToken.None);

        Assert.True(grounding.Grounding >= GroundingFloor, $"grounding {grounding.Grounding:P0} on 30 test tasks, floor {GroundingFloor:P0}");
        Assert.True(memory.Memory >= MemoryFloor, $"memory {memory.Memory:P0} on 12 test tasks, floor {MemoryFloor:P0}");
    }

    // The evaluation harness measured 15 of these 30 grounding tasks and 6 of these 12 memory recalls right (full
    // cache, greedy; eval/results/agent/full-600); a model with random weights writes no valid action and scores zero.
    private const double GroundingFloor = 0.3;
    private const double MemoryFloor = 0.25;
}
