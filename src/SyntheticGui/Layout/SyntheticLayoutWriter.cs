using System.Globalization;
using System.Text;
using System.Text.Json;
using StarKv.SyntheticGui.Screens;
using StarKv.SyntheticGui.Tasks;

namespace StarKv.SyntheticGui.Layout;

/// <summary>
/// Writes tasks in the evaluation harness's <c>synthetic</c> layout: <c>synthetic.json</c> (format, version, split,
/// seed of the first task, count), <c>tasks.jsonl</c> (one task per line: id, kind, platform, task text, and its steps
/// with image path, size, instruction and expected action; click boxes in screenshot pixels, edges inclusive) and
/// <c>images/{id}-{step}.png</c>.
/// </summary>
public static class SyntheticLayoutWriter
{
    public const string Format = "starkv-synthetic";
    public const int Version = 1;
    public const string ManifestFileName = "synthetic.json";
    public const string TasksFileName = "tasks.jsonl";
    public const string ImagesFolder = "images";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Generates tasks <paramref name="first"/> .. first + count − 1 of <paramref name="split"/> and writes them under <paramref name="root"/>.</summary>
    public static IReadOnlyList<SuiteTask> Write(string root, SuiteSplit split, int count, SuiteOptions options, long first = 0, IProgress<int>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentNullException.ThrowIfNull(options);
        var tasks = new List<SuiteTask>(count);
        for (var i = 0; i < count; i++)
        {
            tasks.Add(TaskGenerator.Generate(SuiteSeeds.For(split, first + i), options));
        }

        Write(root, split, tasks, progress);
        return tasks;
    }

    /// <summary>Writes the given tasks under <paramref name="root"/> (created if missing; existing files of the layout are replaced).</summary>
    public static void Write(string root, SuiteSplit split, IReadOnlyList<SuiteTask> tasks, IProgress<int>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentNullException.ThrowIfNull(tasks);
        Directory.CreateDirectory(Path.Combine(root, ImagesFolder));
        using (var lines = new StreamWriter(Path.Combine(root, TasksFileName), false, new UTF8Encoding(false)))
        {
            for (var t = 0; t < tasks.Count; t++)
            {
                var task = tasks[t];
                for (var s = 0; s < task.Steps.Count; s++)
                {
                    File.WriteAllBytes(Path.Combine(root, ImagePath(task, s)), ScreenPainter.RenderPng(task.Steps[s].Screen));
                }

                lines.Write(TaskLine(task));
                lines.Write('\n');
                progress?.Report(t + 1);
            }
        }

        var manifest = new Dictionary<string, object>
        {
            ["format"] = Format,
            ["version"] = Version,
            ["split"] = split == SuiteSplit.Train ? "train" : "test",
            ["seed"] = tasks.Count > 0 ? tasks[0].Seed : 0,
            ["count"] = tasks.Count,
        };
        File.WriteAllText(Path.Combine(root, ManifestFileName), JsonSerializer.Serialize(manifest, Indented) + "\n");
    }

    /// <summary>The image of a step, relative to the layout's root.</summary>
    public static string ImagePath(SuiteTask task, int step)
    {
        ArgumentNullException.ThrowIfNull(task);
        return $"{ImagesFolder}/{task.Id}-{step.ToString(CultureInfo.InvariantCulture)}.png";
    }

    /// <summary>One line of <c>tasks.jsonl</c>.</summary>
    public static string TaskLine(SuiteTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", task.Id);
            json.WriteString("kind", task.Kind.ToString().ToLowerInvariant());
            json.WriteString("platform", task.Platform.ToString().ToLowerInvariant());
            json.WriteString("task", task.TaskText);
            json.WriteStartArray("steps");
            for (var s = 0; s < task.Steps.Count; s++)
            {
                var step = task.Steps[s];
                json.WriteStartObject();
                json.WriteString("image", ImagePath(task, s));
                json.WriteNumber("width", step.Screen.Width);
                json.WriteNumber("height", step.Screen.Height);
                json.WriteString("instruction", step.Instruction);
                json.WriteStartObject("action");
                json.WriteString("type", step.Expected.Verb);
                switch (step.Expected)
                {
                    case ClickExpected click:
                        WriteBox(json, click.Box);
                        break;
                    case TypeExpected type:
                        json.WriteString("content", type.Content);
                        break;
                    case ScrollExpected scroll:
                        json.WriteString("direction", scroll.Direction);
                        WriteBox(json, scroll.Box);
                        break;
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteBox(Utf8JsonWriter json, PixelBox box)
    {
        json.WriteStartArray("box");
        json.WriteNumberValue(box.X1);
        json.WriteNumberValue(box.Y1);
        json.WriteNumberValue(box.X2);
        json.WriteNumberValue(box.Y2);
        json.WriteEndArray();
    }
}
