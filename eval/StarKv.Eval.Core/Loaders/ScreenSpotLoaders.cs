using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.Eval.Core.Reports;

namespace StarKv.Eval.Core.Loaders;

/// <summary>
/// ScreenSpot-v2 as OS-Atlas publishes it (HF <c>OS-Copilot/ScreenSpot-v2</c>): <c>screenspot_mobile_v2.json</c>,
/// <c>screenspot_desktop_v2.json</c>, <c>screenspot_web_v2.json</c> (each a JSON array of samples with
/// <c>img_filename</c>, <c>instruction</c>, <c>bbox</c> = [x, y, w, h] in pixels, <c>data_type</c> text|icon,
/// <c>data_source</c>) and the unpacked <c>screenspotv2_image/</c> folder. Every split file present is read (at least
/// one is required); one session per sample, the instruction as the task. Third-party re-uploads with other field
/// names or box conventions are refused by the field checks.
/// </summary>
public sealed class ScreenSpotV2Loader : IBenchmarkLoader
{
    public const string ImageFolder = "screenspotv2_image";

    private static readonly string[] Splits = ["mobile", "desktop", "web"];

    public string Name => "screenspot-v2";

    public Task<BenchmarkData> LoadAsync(string folder, BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        return Task.FromResult(Load(folder, settings));
    }

    private BenchmarkData Load(string folder, BenchmarkSettings settings)
    {
        LayoutChecks.RequireFolder(folder, Name);
        var files = Splits.Select(s => (Split: s, Path: Path.Combine(folder, $"screenspot_{s}_v2.json"))).Where(f => File.Exists(f.Path)).ToList();
        if (files.Count == 0)
        {
            throw new DatasetLayoutException(
                $"{folder} is not a ScreenSpot-v2 folder: none of screenspot_mobile_v2.json, screenspot_desktop_v2.json, screenspot_web_v2.json is there.");
        }

        var images = Path.Combine(folder, ImageFolder);
        if (!Directory.Exists(images))
        {
            throw new DatasetLayoutException($"{folder} is not a ScreenSpot-v2 folder: the image folder {ImageFolder}/ (screenspotv2_image.zip unpacked) is missing.");
        }

        var episodes = new List<EvalEpisode>();
        foreach (var (split, path) in files)
        {
            using var document = JsonFields.Parse(path);
            var index = 0;
            foreach (var sample in JsonFields.Array(document.RootElement, path).EnumerateArray())
            {
                var where = $"{Path.GetFileName(path)}[{index}]";
                var image = Path.Combine(images, JsonFields.String(sample, "img_filename", where));
                var box = JsonFields.Numbers(sample, "bbox", 4, where);
                var type = JsonFields.String(sample, "data_type", where);
                var id = $"{split}-{index}";
                var step = new EvalStep(id, StepImage.FromFile(image), JsonFields.String(sample, "instruction", where),
                    new ScreenSpotTruth(BoxXyxy.FromXywh(box[0], box[1], box[2], box[3]), null, null));
                episodes.Add(new EvalEpisode(id, "", [step], new Dictionary<string, string>
                {
                    ["platform"] = split,
                    ["ui_type"] = type,
                    ["source"] = JsonFields.OptionalString(sample, "data_source"),
                }));
                index++;
            }
        }

        LayoutChecks.RequireImages(episodes.Select(e => e.Steps[0].Image.Description), Name, $"expected under {ImageFolder}/ by img_filename");
        return new BenchmarkData(Name, "OS-Atlas release: screenspot_<split>_v2.json + screenspotv2_image/", episodes, new ScreenSpotGrader(), new ScreenSpotV2Summary(), 1);
    }
}

/// <summary>
/// ScreenSpot-Pro as published (HF <c>likaixin/ScreenSpot-Pro</c>): <c>annotations/*.json</c> (each a JSON array of
/// samples with <c>img_filename</c> relative to <c>images/</c>, <c>bbox</c> = [x1, y1, x2, y2] in pixels,
/// <c>instruction</c>, <c>id</c>, <c>application</c>, <c>platform</c>, <c>img_size</c> = [width, height],
/// <c>ui_type</c>, <c>group</c>) and <c>images/</c>. Every annotation file is read, as the official script does with
/// <c>--task all</c>; the English instruction is used.
/// </summary>
public sealed class ScreenSpotProLoader : IBenchmarkLoader
{
    public string Name => "screenspot-pro";

    public Task<BenchmarkData> LoadAsync(string folder, BenchmarkSettings settings, CancellationToken cancellationToken)
    {
        return Task.FromResult(Load(folder, settings));
    }

    private BenchmarkData Load(string folder, BenchmarkSettings settings)
    {
        LayoutChecks.RequireFolder(folder, Name);
        string annotations = Path.Combine(folder, "annotations"), images = Path.Combine(folder, "images");
        var missing = new[] { (annotations, "annotations/"), (images, "images/") }.Where(d => !Directory.Exists(d.Item1)).Select(d => d.Item2).ToList();
        if (missing.Count > 0)
        {
            throw new DatasetLayoutException($"{folder} is not a ScreenSpot-Pro folder: {string.Join(" and ", missing)} missing (expected annotations/*.json and images/<app>/*.png).");
        }

        var files = Directory.GetFiles(annotations, "*.json").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new DatasetLayoutException($"{folder} is not a ScreenSpot-Pro folder: annotations/ holds no *.json file.");
        }

        var episodes = new List<EvalEpisode>();
        foreach (var path in files)
        {
            using var document = JsonFields.Parse(path);
            var index = 0;
            foreach (var sample in JsonFields.Array(document.RootElement, path).EnumerateArray())
            {
                var where = $"annotations/{Path.GetFileName(path)}[{index}]";
                var box = JsonFields.Numbers(sample, "bbox", 4, where);
                var size = JsonFields.Numbers(sample, "img_size", 2, where);
                var id = JsonFields.String(sample, "id", where);
                var step = new EvalStep(id, StepImage.FromFile(Path.Combine(images, JsonFields.String(sample, "img_filename", where))),
                    JsonFields.String(sample, "instruction", where), new ScreenSpotTruth(new BoxXyxy(box[0], box[1], box[2], box[3]), size[0], size[1]));
                episodes.Add(new EvalEpisode(id, "", [step], new Dictionary<string, string>
                {
                    ["group"] = JsonFields.String(sample, "group", where),
                    ["ui_type"] = JsonFields.String(sample, "ui_type", where),
                    ["application"] = JsonFields.String(sample, "application", where),
                    ["platform"] = JsonFields.String(sample, "platform", where),
                }));
                index++;
            }
        }

        LayoutChecks.RequireImages(episodes.Select(e => e.Steps[0].Image.Description), Name, "expected under images/ by img_filename");
        return new BenchmarkData(Name, "annotations/*.json + images/", episodes, new ScreenSpotGrader(), new ScreenSpotProSummary(), 1);
    }
}
