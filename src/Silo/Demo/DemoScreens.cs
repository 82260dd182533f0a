using System.Text.Json;
using StarKv.GpuWorker.SyntheticScreens;

namespace StarKv.Silo.Demo;

/// <summary>One screenshot the demo sends, with the instruction that goes with it.</summary>
public sealed record DemoScreen(byte[] Image, string Instruction, string Label);

/// <summary>
/// Where the demo's screenshots come from: synthetic screens drawn per step, or the PNG/JPEG files of a folder, in
/// name order and repeated as needed. A folder with an <c>annotations.json</c> in the layout of the GUI samples
/// (<c>image</c>, <c>instruction</c>) sends each annotated instruction with its screenshot.
/// </summary>
public sealed class DemoScreens
{
    private readonly Func<int, DemoScreen> _screen;

    private DemoScreens(Func<int, DemoScreen> screen) => _screen = screen;

    public DemoScreen ForStep(int step) => _screen(step);

    public static DemoScreens Synthetic(int seed, int width, int height, string instruction) =>
        new(step => new DemoScreen(SyntheticScreenRenderer.RenderPng(seed, width, height, step), step == 0 ? instruction : "Continue.", "synthetic"));

    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no PNG or JPEG file, or its annotations.json cannot be read.</exception>
    public static DemoScreens FromFolder(string folder, string defaultInstruction)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The screenshot folder '{folder}' does not exist.");
        }

        var screens = Annotated(folder) ?? [.. Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path: f, Instruction: defaultInstruction))];
        if (screens.Count == 0)
        {
            throw new InvalidDataException($"The screenshot folder '{folder}' holds no PNG or JPEG file.");
        }

        return new(step =>
        {
            var (path, instruction) = screens[step % screens.Count];
            return new DemoScreen(File.ReadAllBytes(path), instruction, Path.GetFileName(path));
        });
    }

    private static List<(string Path, string Instruction)>? Annotated(string folder)
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
                .Select(e => (Path: Path.Combine(folder, e.GetProperty("image").GetString()!), Instruction: e.GetProperty("instruction").GetString()!))
                .Where(e => File.Exists(e.Path))];
        }
        catch (Exception error) when (error is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{annotations}' is not a list of objects with 'image' and 'instruction': {error.Message}", error);
        }
    }
}
