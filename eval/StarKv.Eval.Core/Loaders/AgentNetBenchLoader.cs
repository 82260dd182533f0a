using System.Text.Json;
using Parquet;
using Parquet.Schema;
using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.Eval.Core.Reports;

namespace StarKv.Eval.Core.Loaders;

/// <summary>
/// AgentNetBench trajectories as OpenCUA's evaluator reads them (<c>evaluation/agentnetbench/README.md</c>): a folder
/// of per-trajectory JSON files (<c>task_id</c>, <c>high_level_task_description</c>, <c>steps</c> with <c>image</c>,
/// <c>ground_truth_actions</c>, optional <c>alternative_options</c> and <c>milestone</c>) and their screenshots in
/// <c>images/</c>; the folder may also be the parent of GUI-KV's <c>test_data/</c>. Files named <c>mapping*</c> are
/// skipped (GUI-KV). Where the data comes as Parquet instead (the full benchmark's hosting is unconfirmed), every
/// <c>*.parquet</c> file is read: one row per step with a <c>trajectory</c> column (the trajectory JSON, on at least one
/// row of each task) and the screenshot embedded as <c>image</c>, either the Hugging Face Image struct
/// (<c>image.bytes</c>, <c>image.path</c>) or binary bytes with an <c>image_path</c> column; the path is the step's
/// <c>image</c> name. Protocol: one session per trajectory, steps in order with no step text, the task description as
/// the task (up to five screenshots when re-prefilled, GUI-KV's setting).
/// </summary>
public sealed class AgentNetBenchLoader : IBenchmarkLoader
{
    public string Name => "agentnetbench";

    public async Task<BenchmarkData> LoadAsync(string folder, BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        LayoutChecks.RequireFolder(folder, Name);
        var root = Directory.Exists(Path.Combine(folder, "test_data")) ? Path.Combine(folder, "test_data") : folder;
        var parquet = Directory.GetFiles(root, "*.parquet").Order(StringComparer.Ordinal).ToList();
        var json = Directory.GetFiles(root, "*.json")
            .Where(f => !Path.GetFileName(f).StartsWith("mapping", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        List<EvalEpisode> episodes;
        string layout;
        if (json.Count > 0)
        {
            var images = Path.Combine(root, "images");
            if (!Directory.Exists(images))
            {
                throw new DatasetLayoutException($"{root} is not an AgentNetBench folder: the screenshot folder images/ is missing next to the trajectory JSON files.");
            }

            episodes = [];
            foreach (var file in json)
            {
                using var document = JsonFields.Parse(file);
                episodes.Add(Trajectory(document.RootElement, Path.GetFileName(file), name => StepImage.FromFile(Path.Combine(images, name))));
            }

            LayoutChecks.RequireImages(episodes.SelectMany(e => e.Steps).Select(s => s.Image.Description), Name, "expected under images/ by each step's image name");
            layout = "OpenCUA trajectories: *.json + images/";
        }
        else if (parquet.Count > 0)
        {
            episodes = [];
            foreach (var file in parquet)
            {
                episodes.AddRange(await ReadParquetAsync(file, cancellationToken).ConfigureAwait(false));
            }

            layout = "Parquet: one row per step, trajectory JSON + embedded image";
        }
        else
        {
            throw new DatasetLayoutException(
                $"{folder} is not an AgentNetBench folder: no trajectory *.json (with images/) and no *.parquet file in it or in test_data/.");
        }

        return new BenchmarkData(Name, layout, episodes, new AgentNetBenchGrader(), new AgentNetBenchSummary(), 5);
    }

    private static EvalEpisode Trajectory(JsonElement root, string where, Func<string, StepImage> image)
    {
        var taskId = JsonFields.String(root, "task_id", where);
        var task = JsonFields.OptionalString(root, "high_level_task_description");
        if (task.Length == 0)
        {
            task = JsonFields.OptionalString(root, "instruction");
        }

        if (task.Length == 0)
        {
            task = JsonFields.String(root, "user_task_description", where + " (no high_level_task_description or instruction)");
        }

        var steps = new List<EvalStep>();
        var index = 0;
        foreach (var step in JsonFields.Required(root, "steps", where).EnumerateArray())
        {
            var at = $"{where} steps[{index}]";
            var actions = Actions(JsonFields.Required(step, "ground_truth_actions", at), at);
            var alternatives = JsonFields.Optional(step, "alternative_options") is { ValueKind: JsonValueKind.Array } options
                ? options.EnumerateArray().Select((o, i) => Actions(o, $"{at} alternative_options[{i}]")).ToArray()
                : [];
            var truth = new AgentNetTruth(actions, alternatives, JsonFields.OptionalBool(step, "milestone"));
            steps.Add(new EvalStep($"{taskId}-{index}", image(JsonFields.String(step, "image", at)), "", truth, truth.Category));
            index++;
        }

        if (steps.Count == 0)
        {
            throw new DatasetLayoutException($"{where}: the trajectory has no steps.");
        }

        return new EvalEpisode(taskId, task, steps, new Dictionary<string, string> { ["system"] = MetaSystem(root) });
    }

    private static string MetaSystem(JsonElement root) =>
        JsonFields.Optional(root, "meta_info") is { } meta ? JsonFields.OptionalString(meta, "system") : "";

    private static List<AgentNetAction> Actions(JsonElement list, string where)
    {
        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new DatasetLayoutException($"{where}: expected a list of actions.");
        }

        var actions = new List<AgentNetAction>();
        foreach (var action in list.EnumerateArray())
        {
            var type = JsonFields.String(action, "type", where);
            var parameters = JsonFields.Optional(action, "params");
            double? x = null, y = null;
            string? text = null, status = null;
            IReadOnlyList<string>? keys = null;
            if (parameters is { ValueKind: JsonValueKind.Object } p)
            {
                if (JsonFields.Optional(p, "position") is { } position)
                {
                    x = JsonFields.Number(position, "x", where);
                    y = JsonFields.Number(position, "y", where);
                }

                text = JsonFields.Optional(p, "text")?.GetString() ?? JsonFields.Optional(p, "content")?.GetString();
                keys = JsonFields.Optional(p, "keys") is { } k ? JsonFields.Strings(k) : null;
                status = JsonFields.Optional(p, "status")?.GetString();
            }

            var boxes = new List<BoxXyxy>();
            if (JsonFields.Optional(action, "metadata") is { ValueKind: JsonValueKind.Object } metadata
                && JsonFields.Optional(metadata, "bboxes") is { ValueKind: JsonValueKind.Array } list2)
            {
                foreach (var box in list2.EnumerateArray())
                {
                    var rel = JsonFields.Numbers(box, "rel_bbox", 4, where);
                    boxes.Add(BoxXyxy.FromXywh(rel[0], rel[1], rel[2], rel[3]));
                }
            }

            actions.Add(new AgentNetAction(type, x, y, boxes, text, keys, status));
        }

        return actions;
    }

    private static async Task<List<EvalEpisode>> ReadParquetAsync(string file, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(file);
        await using var reader = await ParquetReader.CreateAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false);
        var fields = reader.Schema.GetDataFields();
        DataField? Find(params string[] path) => fields.FirstOrDefault(f => f.Path.ToList().SequenceEqual(path, StringComparer.Ordinal));
        var trajectoryField = Find("trajectory") ?? throw new DatasetLayoutException($"{name}: the Parquet file has no 'trajectory' column (the trajectory JSON).");
        var bytesField = Find("image", "bytes") ?? Find("image");
        var pathField = Find("image", "path") ?? Find("image_path");
        if (bytesField is null || pathField is null)
        {
            throw new DatasetLayoutException(
                $"{name}: the Parquet file needs the screenshot as 'image' (struct of bytes and path, or binary with an 'image_path' column); its columns are " +
                string.Join(", ", fields.Select(f => $"{string.Join('.', f.Path.ToList())} ({f.ClrType.Name})")) + ".");
        }

        var trajectories = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        var images = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var rows = (int)group.RowCount;
            var json = new string?[rows];
            var paths = new string?[rows];
            var bytes = new byte[]?[rows];
            await group.ReadAsync(trajectoryField, json.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            await group.ReadAsync(pathField, paths.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            await group.ReadAsync(bytesField, bytes.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var r = 0; r < rows; r++)
            {
                if (json[r] is { Length: > 0 } text)
                {
                    using var document = ParseJson(text, $"{name} row group {g} row {r}");
                    var id = JsonFields.String(document.RootElement, "task_id", $"{name} row group {g} row {r}");
                    if (trajectories.TryAdd(id, text))
                    {
                        order.Add(id);
                    }
                }

                if (paths[r] is { Length: > 0 } path && bytes[r] is { Length: > 0 } data)
                {
                    images[path] = data;
                }
            }
        }

        var episodes = new List<EvalEpisode>();
        foreach (var id in order)
        {
            using var document = JsonDocument.Parse(trajectories[id]);
            episodes.Add(Trajectory(document.RootElement, $"{name} task {id}", image =>
                images.TryGetValue(image, out var data)
                    ? StepImage.FromBytes($"{name}:{image}", data)
                    : throw new DatasetLayoutException($"{name}: no embedded screenshot '{image}' for task {id}.")));
        }

        if (episodes.Count == 0)
        {
            throw new DatasetLayoutException($"{name}: the Parquet file holds no trajectory.");
        }

        return episodes;
    }

    private static JsonDocument ParseJson(string json, string where)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new DatasetLayoutException($"{where}: the trajectory column is not valid JSON: {e.Message}", e);
        }
    }
}
