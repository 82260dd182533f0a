using System.Text.Json;
using StarKv.SyntheticGui.Screens;
using StarKv.SyntheticGui.Tasks;

namespace StarKv.Silo.Demo;

/// <summary>What a demo step expects, to say whether the model's action hits: a click inside a box, a typed text, a scroll direction, or finished.</summary>
/// <param name="Verb">The expected verb.</param>
/// <param name="Box">For a click: the target box in screenshot pixels, edges inclusive (x1, y1, x2, y2).</param>
/// <param name="Text">For type: the content; for scroll: the direction.</param>
public sealed record DemoExpectation(string Verb, (int X1, int Y1, int X2, int Y2)? Box = null, string? Text = null);

/// <summary>One screenshot the demo sends, with its instruction and what a correct action is (null when unknown).</summary>
public sealed record DemoStep(byte[] Image, string Instruction, DemoExpectation? Expected);

/// <summary>One demo session: a label, its kind, and its steps.</summary>
public sealed record DemoTask(string Label, string Kind, IReadOnlyList<DemoStep> Steps);

/// <summary>
/// Where the demo's tasks come from: the held-out test split of the synthetic GUI suite (grounding, memory and action
/// tasks in turn, the kinds the built-in agent was trained on), or a folder of real screenshots whose
/// <c>annotations.json</c> (the GUI samples' layout: <c>image</c>, <c>instruction</c>, <c>bbox_xyxy</c>) gives each an
/// instruction and a target box; a folder without annotations sends each screenshot with a default instruction.
/// </summary>
public static class DemoTasks
{
    private const string DefaultInstruction = "Click the search box.";

    /// <summary>
    /// Test-split tasks holding exactly <paramref name="steps"/> steps in all: grounding, memory and action tasks in
    /// turn, each the next test task of its kind that fits the steps left (a kind that cannot fit is passed over).
    /// </summary>
    public static IReadOnlyList<DemoTask> Suite(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        TaskKind[] order = [TaskKind.Grounding, TaskKind.Memory, TaskKind.Action];
        var options = new SuiteOptions();
        var tasks = new List<DemoTask>();
        var next = new Dictionary<TaskKind, long>();
        var left = steps;
        for (var turn = 0; left > 0; turn++)
        {
            var kind = order[turn % order.Length];
            if (kind == TaskKind.Memory && left < options.MinScreens)
            {
                continue;
            }

            SuiteTask task;
            var index = next.GetValueOrDefault(kind);
            do
            {
                task = TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Test, index++), options);
            }
            while (task.Kind != kind || task.Steps.Count > left);

            next[kind] = index;
            tasks.Add(new DemoTask(task.Id, task.Kind.ToString().ToLowerInvariant(), [.. task.Steps.Select(s => new DemoStep(ScreenPainter.RenderPng(s.Screen), s.Instruction, Expect(s.Expected)))]));
            left -= task.Steps.Count;
        }

        return tasks;
    }

    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no PNG or JPEG file, or its annotations.json cannot be read.</exception>
    public static IReadOnlyList<DemoTask> FromFolder(string folder, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The screenshot folder '{folder}' does not exist.");
        }

        var samples = Annotated(folder) ?? [.. Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path: f, Instruction: DefaultInstruction, Expected: (DemoExpectation?)null))];
        if (samples.Count == 0)
        {
            throw new InvalidDataException($"The screenshot folder '{folder}' holds no PNG or JPEG file.");
        }

        return [.. Enumerable.Range(0, steps).Select(i => samples[i % samples.Count])
            .Select(s => new DemoTask(Path.GetFileName(s.Path), "screenshot", [new DemoStep(File.ReadAllBytes(s.Path), s.Instruction, s.Expected)]))];
    }

    private static DemoExpectation Expect(ExpectedAction expected) => expected switch
    {
        ClickExpected click => new DemoExpectation("click", (click.Box.X1, click.Box.Y1, click.Box.X2, click.Box.Y2)),
        TypeExpected type => new DemoExpectation("type", Text: type.Content),
        ScrollExpected scroll => new DemoExpectation("scroll", Text: scroll.Direction),
        _ => new DemoExpectation(expected.Verb),
    };

    private static List<(string Path, string Instruction, DemoExpectation? Expected)>? Annotated(string folder)
    {
        var annotations = Path.Combine(folder, "annotations.json");
        if (!File.Exists(annotations))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(annotations));
            return [.. document.RootElement.EnumerateArray()
                .Select(e => (
                    Path: Path.Combine(folder, e.GetProperty("image").GetString()!),
                    Instruction: e.GetProperty("instruction").GetString()!,
                    Expected: e.TryGetProperty("bbox_xyxy", out var box) && box.GetArrayLength() == 4
                        ? new DemoExpectation("click", (box[0].GetInt32(), box[1].GetInt32(), box[2].GetInt32(), box[3].GetInt32()))
                        : null))
                .Where(e => File.Exists(e.Path))];
        }
        catch (Exception error) when (error is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{annotations}' is not a list of objects with 'image' and 'instruction': {error.Message}", error);
        }
    }
}
