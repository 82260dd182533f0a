using System.Text.Json;

namespace StarKv.GpuWorker.Tests.Images;

/// <summary>One annotated target of the repository's GUI sample screenshots (<c>samples/gui</c>).</summary>
public sealed record GuiSample(string Id, string Image, int Width, int Height, int X1, int Y1, int X2, int Y2);

/// <summary>Finds the GUI samples in the repository (<c>samples/gui</c>) and reads their annotations.</summary>
public static class GuiSamples
{
    private static readonly Lazy<string> DirectoryPath = new(Locate);
    private static readonly Lazy<IReadOnlyList<GuiSample>> AllSamples = new(Load);

    public static string Directory => DirectoryPath.Value;

    public static IReadOnlyList<GuiSample> All => AllSamples.Value;

    /// <summary>The distinct screenshots with their sizes.</summary>
    public static IReadOnlyList<(string Image, int Width, int Height)> Screenshots =>
        All.Select(s => (s.Image, s.Width, s.Height)).Distinct().OrderBy(s => s.Image, StringComparer.Ordinal).ToList();

    public static string PathOf(string image) => Path.Combine(Directory, image);

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")))
            {
                var samples = Path.Combine(dir.FullName, "samples", "gui");
                if (File.Exists(Path.Combine(samples, "annotations.json")))
                {
                    return samples;
                }
            }
        }

        throw new DirectoryNotFoundException($"No samples/gui/annotations.json in the repository above {AppContext.BaseDirectory}.");
    }

    private static List<GuiSample> Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "annotations.json")));
        var samples = new List<GuiSample>();
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            var box = entry.GetProperty("bbox_xyxy").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            samples.Add(new GuiSample(
                entry.GetProperty("id").GetString()!,
                entry.GetProperty("image").GetString()!,
                entry.GetProperty("width").GetInt32(),
                entry.GetProperty("height").GetInt32(),
                box[0], box[1], box[2], box[3]));
        }

        return samples;
    }
}
