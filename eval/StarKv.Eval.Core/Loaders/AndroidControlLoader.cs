using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.Eval.Core.Reports;

namespace StarKv.Eval.Core.Loaders;

/// <summary>
/// AndroidControl from either TFRecord-derived JSON export with its screenshots on disk (the raw TFRecord release
/// itself is not read):
/// <list type="bullet">
/// <item>UGround's step export (used by GUI-KV and STaR-KV): <c>500_steps.json</c> (or the full
/// <c>AndroidControl_processed_test_steps.json</c>), a JSON array of steps with <c>episode_id</c>, <c>step</c>,
/// <c>goal</c>, <c>step_instruction</c>, <c>previous_actions</c>, <c>screenshot</c> (relative to the image root:
/// <c>images/</c>, <c>AndroidControl_images/</c> or the folder itself), <c>action</c> (<c>action_type</c> plus
/// <c>x</c>, <c>y</c> in pixels, <c>text</c>, <c>direction</c>, <c>app_name</c>, <c>goal_status</c>) and
/// <c>accessibility_tree</c> (elements with <c>text</c>, <c>content_description</c>, <c>bbox_pixels</c>; nested
/// arrays allowed).</item>
/// <item>OS-Atlas's JSONL (<c>ac_test.jsonl</c> or <c>ac_low_test.jsonl</c>): rows <c>{id, image, conversations}</c>
/// whose human prompt holds <c>Task: …</c> and <c>History: …</c> and whose answer ends in an action string
/// (<c>CLICK &lt;point&gt;[[x, y]]&lt;/point&gt;</c> in the 0–1000 frame, <c>TYPE [text]</c>, <c>SCROLL [UP]</c>, ...);
/// screenshots by file name under <c>images/</c> or the folder itself. No element list, so graded by distance.</item>
/// </list>
/// Protocol: every step is its own session (teacher forcing), the current screenshot only, the goal as the task and
/// the previous actions as text (plus the step instruction at the low level).
/// </summary>
public sealed partial class AndroidControlLoader : IBenchmarkLoader
{
    public static IReadOnlyList<string> UGroundFiles { get; } = ["500_steps.json", "AndroidControl_processed_test_steps.json"];

    public static IReadOnlyList<string> AtlasFiles { get; } = ["ac_test.jsonl", "ac_low_test.jsonl"];

    public string Name => "androidcontrol";

    public Task<BenchmarkData> LoadAsync(string folder, BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        return Task.FromResult(Load(folder, settings));
    }

    private BenchmarkData Load(string folder, BenchmarkSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        LayoutChecks.RequireFolder(folder, Name);
        var uground = UGroundFiles.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists);
        var atlas = AtlasFiles.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists);
        if (uground is null && atlas is null)
        {
            throw new DatasetLayoutException(
                $"{folder} is not an AndroidControl export: expected {string.Join(" or ", UGroundFiles)} (UGround step export) or {string.Join(" or ", AtlasFiles)} (OS-Atlas JSONL).");
        }

        var rule = settings.AndroidRule ?? (uground is not null ? AndroidControlRule.ElementBox : AndroidControlRule.Distance14);
        if (uground is null && rule == AndroidControlRule.ElementBox)
        {
            throw new DatasetLayoutException("The element-box rule needs the accessibility lists of the UGround export; the OS-Atlas JSONL has none (use --android-rule distance14 or relaxed).");
        }

        var episodes = uground is not null ? LoadUGround(folder, uground, settings.AndroidLevel) : LoadAtlas(folder, atlas!);
        LayoutChecks.RequireImages(episodes.Select(e => e.Steps[0].Image.Description), Name, "screenshot paths are resolved against images/, AndroidControl_images/ or the data folder");
        IStepGrader grader = rule switch
        {
            AndroidControlRule.ElementBox => new AndroidElementBoxGrader(),
            AndroidControlRule.Distance14 => new AndroidDistanceGrader(),
            _ => new AndroidRelaxedGrader(),
        };
        var layout = uground is not null ? $"UGround step export ({Path.GetFileName(uground)})" : $"OS-Atlas JSONL ({Path.GetFileName(atlas)})";
        return new BenchmarkData(Name, $"{layout}, {settings.AndroidLevel.ToString().ToLowerInvariant()}-level instructions", episodes, grader, new AndroidControlSummary(grader.Name), 1);
    }

    /// <summary>The text after the screenshot: the previous actions, numbered, and at the low level the step instruction.</summary>
    public static string StepText(IReadOnlyList<string> previousActions, string? stepInstruction)
    {
        ArgumentNullException.ThrowIfNull(previousActions);
        var text = new StringBuilder();
        if (previousActions.Count > 0)
        {
            text.Append("Previous actions:");
            for (var i = 0; i < previousActions.Count; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"\nStep {i + 1}: {previousActions[i]}");
            }
        }

        if (!string.IsNullOrWhiteSpace(stepInstruction))
        {
            text.Append(text.Length > 0 ? "\n" : "").Append("Next step: ").Append(stepInstruction.Trim());
        }

        return text.ToString();
    }

    private static string ImageRoot(string folder, string relative)
    {
        foreach (var root in new[] { Path.Combine(folder, "images"), Path.Combine(folder, "AndroidControl_images"), folder })
        {
            var candidate = Path.Combine(root, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(folder, "images", relative);
    }

    private static List<EvalEpisode> LoadUGround(string folder, string path, AndroidInstructionLevel level)
    {
        using var document = JsonFields.Parse(path);
        var episodes = new List<EvalEpisode>();
        var index = 0;
        foreach (var row in JsonFields.Array(document.RootElement, path).EnumerateArray())
        {
            var where = $"{Path.GetFileName(path)}[{index++}]";
            var episode = JsonFields.Number(row, "episode_id", where).ToString(CultureInfo.InvariantCulture);
            var stepIndex = (JsonFields.OptionalNumber(row, "step", where) ?? JsonFields.Number(row, "step_index", where)).ToString(CultureInfo.InvariantCulture);
            var action = ReadAction(JsonFields.Required(row, "action", where), $"{where}.action");
            var elements = new List<AndroidElement>();
            if (JsonFields.Optional(row, "accessibility_tree") is { } tree)
            {
                CollectElements(tree, elements, $"{where}.accessibility_tree");
            }

            var previous = JsonFields.Strings(JsonFields.Optional(row, "previous_actions"));
            var instruction = level == AndroidInstructionLevel.Low ? JsonFields.OptionalString(row, "step_instruction") : null;
            var id = $"{episode}-{stepIndex}";
            var step = new EvalStep(id, StepImage.FromFile(ImageRoot(folder, JsonFields.String(row, "screenshot", where))), StepText(previous, instruction),
                new AndroidControlTruth(action, AndroidPointFrame.Pixels, elements), action.Type);
            episodes.Add(new EvalEpisode(id, JsonFields.String(row, "goal", where), [step], new Dictionary<string, string> { ["action"] = action.Type, ["episode"] = episode }));
        }

        return episodes;
    }

    private static AndroidAction ReadAction(JsonElement action, string where)
    {
        var type = JsonFields.String(action, "action_type", where);
        return new AndroidAction(
            type,
            JsonFields.OptionalNumber(action, "x", where),
            JsonFields.OptionalNumber(action, "y", where),
            JsonFields.Optional(action, "text")?.GetString(),
            JsonFields.Optional(action, "direction")?.GetString(),
            JsonFields.Optional(action, "app_name")?.GetString(),
            JsonFields.Optional(action, "goal_status")?.GetString());
    }

    private static void CollectElements(JsonElement value, List<AndroidElement> into, string where)
    {
        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in value.EnumerateArray())
            {
                CollectElements(item, into, where);
            }

            return;
        }

        if (value.ValueKind != JsonValueKind.Object || JsonFields.Optional(value, "bbox_pixels") is not { } box)
        {
            return;
        }

        into.Add(new AndroidElement(
            new BoxXyxy(
                JsonFields.Number(box, "x_min", where), JsonFields.Number(box, "y_min", where), JsonFields.Number(box, "x_max", where), JsonFields.Number(box, "y_max", where)),
            JsonFields.OptionalString(value, "text"),
            JsonFields.OptionalString(value, "content_description")));
    }

    private static List<EvalEpisode> LoadAtlas(string folder, string path)
    {
        var episodes = new List<EvalEpisode>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var where = $"{Path.GetFileName(path)} line {lineNumber}";
            using var row = ParseLine(line, where);
            var root = row.RootElement;
            var id = JsonFields.Required(root, "id", where).ToString();
            var image = JsonFields.String(root, "image", where);
            var conversations = JsonFields.Required(root, "conversations", where);
            string? prompt = null, answer = null;
            foreach (var turn in conversations.EnumerateArray())
            {
                var from = JsonFields.OptionalString(turn, "from");
                var value = JsonFields.OptionalString(turn, "value");
                if (from == "human")
                {
                    prompt ??= value;
                }
                else if (from == "gpt")
                {
                    answer = value;
                }
            }

            if (prompt is null || answer is null)
            {
                throw new DatasetLayoutException($"{where}: conversations need a 'human' prompt and a 'gpt' answer.");
            }

            var (goal, history) = SplitAtlasPrompt(prompt, where);
            var action = ParseAtlasAction(answer, where);
            var fileName = image.Replace('\\', '/').Split('/')[^1];
            var step = new EvalStep(id, StepImage.FromFile(ImageRoot(folder, fileName)), StepText(history, null),
                new AndroidControlTruth(action, AndroidPointFrame.Normalized1000, []), action.Type);
            episodes.Add(new EvalEpisode(id, goal, [step], new Dictionary<string, string> { ["action"] = action.Type }));
        }

        return episodes;
    }

    private static JsonDocument ParseLine(string line, string where)
    {
        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new DatasetLayoutException($"{where} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Splits an OS-Atlas prompt into the text after <c>Task:</c> and the history lines after <c>History:</c> (<c>None</c> when empty).</summary>
    internal static (string Goal, IReadOnlyList<string> History) SplitAtlasPrompt(string prompt, string where)
    {
        var task = prompt.LastIndexOf("Task:", StringComparison.Ordinal);
        if (task < 0)
        {
            throw new DatasetLayoutException($"{where}: the human prompt has no 'Task:' line.");
        }

        var rest = prompt[(task + "Task:".Length)..];
        var historyAt = rest.IndexOf("History:", StringComparison.Ordinal);
        var goal = (historyAt < 0 ? rest : rest[..historyAt]).Trim();
        var history = new List<string>();
        if (historyAt >= 0)
        {
            foreach (var line in rest[(historyAt + "History:".Length)..].Split('\n'))
            {
                var text = StepPrefix().Replace(line.Trim(), "").Trim();
                if (text.Length > 0 && text != "None")
                {
                    history.Add(text);
                }
            }
        }

        return (goal, history);
    }

    /// <summary>Reads the last line of an OS-Atlas answer (<c>actions:\nCLICK &lt;point&gt;[[x, y]]&lt;/point&gt;</c>) into the canonical vocabulary.</summary>
    internal static AndroidAction ParseAtlasAction(string answer, string where)
    {
        var at = answer.LastIndexOf("actions:", StringComparison.Ordinal);
        var text = (at >= 0 ? answer[(at + "actions:".Length)..] : answer).Trim();
        var verb = text.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.ToUpperInvariant() ?? "";
        var argument = Bracketed().Match(text) is { Success: true } m ? m.Groups[1].Value : "";
        switch (verb)
        {
            case "CLICK" or "LONG_PRESS":
                var point = AtlasPoint().Match(text);
                if (!point.Success)
                {
                    throw new DatasetLayoutException($"{where}: '{text}' has no <point>[[x, y]]</point>.");
                }

                return new AndroidAction(verb == "CLICK" ? "click" : "long_press",
                    double.Parse(point.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(point.Groups[2].Value, CultureInfo.InvariantCulture));
            case "TYPE":
                return new AndroidAction("type_text", Text: argument);
            case "SCROLL":
                return new AndroidAction("scroll", Direction: argument.ToLowerInvariant());
            case "OPEN_APP":
                return new AndroidAction("open_app", AppName: argument);
            case "PRESS_BACK":
                return new AndroidAction("navigate_back");
            case "PRESS_HOME":
                return new AndroidAction("navigate_home");
            case "WAIT":
                return new AndroidAction("wait");
            case "COMPLETE":
                return new AndroidAction("status", GoalStatus: "successful");
            default:
                throw new DatasetLayoutException($"{where}: unknown OS-Atlas action '{text}'.");
        }
    }

    [GeneratedRegex(@"^Step\s*\d+\s*:", RegexOptions.CultureInvariant)]
    private static partial Regex StepPrefix();

    [GeneratedRegex(@"\[(.*)\]", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex Bracketed();

    [GeneratedRegex(@"\[\[\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\]\]", RegexOptions.CultureInvariant)]
    private static partial Regex AtlasPoint();
}
