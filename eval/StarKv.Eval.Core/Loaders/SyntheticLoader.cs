using System.Text.Json;
using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.Eval.Core.Reports;
using StarKv.GpuWorker.Actions;

namespace StarKv.Eval.Core.Loaders;

/// <summary>
/// The project's synthetic GUI task suite (<c>eval/README.md</c> specifies it): <c>synthetic.json</c>
/// (<c>{"format": "starkv-synthetic", "version": 1, "split", "seed", "count"}</c>), <c>tasks.jsonl</c> (one task per
/// line: <c>id</c>, <c>kind</c> grounding|memory|action, <c>platform</c>, <c>task</c>, <c>steps</c> with
/// <c>image</c>, <c>width</c>, <c>height</c>, <c>instruction</c> and <c>action</c>) and <c>images/</c>. One session per
/// task with the task text, the steps streamed in order (five screenshots when re-prefilled).
/// </summary>
public sealed class SyntheticLoader : IBenchmarkLoader
{
    public const string Format = "starkv-synthetic";

    public const int Version = 1;

    private static readonly string[] RequiredFiles = ["synthetic.json", "tasks.jsonl"];

    public string Name => "synthetic";

    public Task<BenchmarkData> LoadAsync(string folder, BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        return System.Threading.Tasks.Task.FromResult(Load(folder));
    }

    private BenchmarkData Load(string folder)
    {
        LayoutChecks.RequireFolder(folder, Name);
        string manifestPath = Path.Combine(folder, "synthetic.json"), tasksPath = Path.Combine(folder, "tasks.jsonl");
        var missing = RequiredFiles.Where(f => !File.Exists(Path.Combine(folder, f))).ToList();
        if (missing.Count > 0)
        {
            throw new DatasetLayoutException($"{folder} is not a synthetic suite folder: {string.Join(" and ", missing)} missing (expected synthetic.json, tasks.jsonl and images/).");
        }

        int count;
        using (var manifest = JsonFields.Parse(manifestPath))
        {
            var root = manifest.RootElement;
            var format = JsonFields.String(root, "format", "synthetic.json");
            var version = JsonFields.Number(root, "version", "synthetic.json");
            if (format != Format || version != Version)
            {
                throw new DatasetLayoutException($"synthetic.json declares format '{format}' version {version}; this reader knows '{Format}' version {Version}.");
            }

            count = (int)JsonFields.Number(root, "count", "synthetic.json");
        }

        var episodes = new List<EvalEpisode>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(tasksPath))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var where = $"tasks.jsonl line {lineNumber}";
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new DatasetLayoutException($"{where} is not valid JSON: {e.Message}", e);
            }

            using (document)
            {
                episodes.Add(ReadTask(document.RootElement, folder, where));
            }
        }

        if (episodes.Count != count)
        {
            throw new DatasetLayoutException($"synthetic.json says count {count} but tasks.jsonl holds {episodes.Count} tasks.");
        }

        LayoutChecks.RequireImages(episodes.SelectMany(e => e.Steps).Select(s => s.Image.Description), Name, "each step's image is relative to the suite folder");
        return new BenchmarkData(Name, "starkv-synthetic v1: synthetic.json + tasks.jsonl + images/", episodes, new SyntheticGrader(), new SyntheticSummary(), 5);
    }

    private static EvalEpisode ReadTask(JsonElement task, string folder, string where)
    {
        var id = JsonFields.String(task, "id", where);
        var kind = JsonFields.String(task, "kind", where);
        if (kind is not ("grounding" or "memory" or "action"))
        {
            throw new DatasetLayoutException($"{where}: kind '{kind}' is not grounding, memory or action.");
        }

        var platform = JsonFields.String(task, "platform", where);
        var steps = new List<EvalStep>();
        var index = 0;
        foreach (var step in JsonFields.Required(task, "steps", where).EnumerateArray())
        {
            var at = $"{where} ({id}) steps[{index}]";
            int width = (int)JsonFields.Number(step, "width", at), height = (int)JsonFields.Number(step, "height", at);
            var truth = Truth(JsonFields.Required(step, "action", at), width, height, at);
            steps.Add(new EvalStep($"{id}-{index}", StepImage.FromFile(Path.Combine(folder, JsonFields.String(step, "image", at))),
                JsonFields.OptionalString(step, "instruction"), truth, truth.Type.ToString().ToLowerInvariant()));
            index++;
        }

        if (steps.Count == 0)
        {
            throw new DatasetLayoutException($"{where} ({id}): the task has no steps.");
        }

        return new EvalEpisode(id, JsonFields.OptionalString(task, "task"), steps, new Dictionary<string, string> { ["kind"] = kind, ["platform"] = platform });
    }

    private static SyntheticTruth Truth(JsonElement action, int width, int height, string where)
    {
        var type = JsonFields.String(action, "type", where + ".action");
        BoxXyxy? box = JsonFields.Optional(action, "box") is not null ? Box(JsonFields.Numbers(action, "box", 4, where + ".action")) : null;
        switch (type)
        {
            case "click":
                return new SyntheticTruth(SyntheticActionType.Click, box ?? throw new DatasetLayoutException($"{where}.action: a click needs 'box'."), null, null, width, height);
            case "type":
                return new SyntheticTruth(SyntheticActionType.Type, null, JsonFields.String(action, "content", where + ".action"), null, width, height);
            case "scroll":
                var direction = JsonFields.String(action, "direction", where + ".action") switch
                {
                    "up" => ScrollDirection.Up,
                    "down" => ScrollDirection.Down,
                    "left" => ScrollDirection.Left,
                    "right" => ScrollDirection.Right,
                    var other => throw new DatasetLayoutException($"{where}.action: direction '{other}' is not up, down, left or right."),
                };
                return new SyntheticTruth(SyntheticActionType.Scroll, box, null, direction, width, height);
            case "finished":
                return new SyntheticTruth(SyntheticActionType.Finished, null, null, null, width, height);
            default:
                throw new DatasetLayoutException($"{where}.action: type '{type}' is not click, type, scroll or finished.");
        }
    }

    private static BoxXyxy Box(double[] values) => new(values[0], values[1], values[2], values[3]);
}
