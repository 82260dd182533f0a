using System.Globalization;
using SkiaSharp;
using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Runner;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Eval.Core.Reports;

/// <summary>
/// Draws which vision tokens a cache keeps: the screenshot with each kept cell of its merged token grid shaded red,
/// the stronger the more KV heads (and, averaged, layers) keep it; cells nobody keeps are left as they are.
/// Per screenshot of an episode: <c>shot{k}-mean.png</c> (averaged over layers, at most <see cref="MaxWidth"/> pixels
/// wide) and <c>shot{k}-layers.png</c> (one tile per layer, <see cref="TileWidth"/> pixels wide, four per row, layer 0
/// top left, row by row).
/// </summary>
public static class HeatmapRenderer
{
    public const int MaxWidth = 1280;
    public const int TileWidth = 320;
    public const int TilesPerRow = 4;

    /// <summary>The shade's opacity for a cell every head keeps.</summary>
    public const byte MaxAlpha = 150;

    /// <summary>The size a drawing of a <paramref name="width"/> × <paramref name="height"/> screenshot takes at most <paramref name="maxWidth"/> wide.</summary>
    public static (int Width, int Height) Fit(int width, int height, int maxWidth)
    {
        if (width <= maxWidth)
        {
            return (width, height);
        }

        return (maxWidth, Math.Max(1, (int)Math.Round((double)height * maxWidth / width, MidpointRounding.ToEven)));
    }

    /// <summary>The pixels [start, end) of grid cell <paramref name="index"/> of <paramref name="count"/> along an axis <paramref name="extent"/> pixels long.</summary>
    public static (int Start, int End) CellSpan(int index, int count, int extent) =>
        ((int)((long)index * extent / count), (int)((long)(index + 1) * extent / count));

    /// <summary>
    /// The screenshot at <paramref name="width"/> × <paramref name="height"/> with cell (r, c) of a
    /// <paramref name="rows"/> × <paramref name="cols"/> grid shaded by <paramref name="fraction"/>[r, c] in [0, 1].
    /// </summary>
    public static SKBitmap Render(SKBitmap screenshot, int rows, int cols, double[,] fraction, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(screenshot);
        ArgumentNullException.ThrowIfNull(fraction);
        var output = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(output);
        canvas.Clear(SKColors.White);
        using (var image = SKImage.FromBitmap(screenshot))
        {
            canvas.DrawImage(image, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }

        using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        for (var r = 0; r < rows; r++)
        {
            var (y0, y1) = CellSpan(r, rows, height);
            for (var c = 0; c < cols; c++)
            {
                var value = Math.Clamp(fraction[r, c], 0, 1);
                if (value <= 0)
                {
                    continue;
                }

                var (x0, x1) = CellSpan(c, cols, width);
                paint.Color = new SKColor(255, 0, 0, (byte)Math.Max(1, Math.Round(value * MaxAlpha)));
                canvas.DrawRect(SKRect.Create(x0, y0, x1 - x0, y1 - y0), paint);
            }
        }

        canvas.Flush();
        return output;
    }

    /// <summary>Per layer, the fraction of KV heads keeping each cell of screenshot <paramref name="screenshot"/>. // [layers][rows, cols]</summary>
    public static double[][,] Fractions(KeptVision kept, int screenshot, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(kept);
        var result = new double[kept.Layers.Count][,];
        for (var layer = 0; layer < kept.Layers.Count; layer++)
        {
            var grid = new double[rows, cols];
            foreach (var cell in kept.Layers[layer])
            {
                if (cell.ScreenshotIndex == screenshot && cell.Row < rows && cell.Col < cols)
                {
                    grid[cell.Row, cell.Col] = (double)cell.Heads / kept.KvHeads;
                }
            }

            result[layer] = grid;
        }

        return result;
    }

    /// <summary>The mean over layers. // [rows, cols]</summary>
    public static double[,] Mean(double[][,] layers, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var mean = new double[rows, cols];
        foreach (var layer in layers)
        {
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < cols; c++)
                {
                    mean[r, c] += layer[r, c] / layers.Length;
                }
            }
        }

        return mean;
    }

    /// <summary>
    /// Writes the mean and per-layer drawings of each screenshot in <paramref name="window"/> (step indices: every step
    /// for a retained cache, the last few when re-prefilled), also those of which nothing is kept; returns the paths.
    /// </summary>
    public static IReadOnlyList<string> WriteEpisode(
        string folder, RunConfig config, EvalEpisode episode, EpisodeRecord record, KeptVision kept, IReadOnlyList<int> window, int cellPixels, bool modeInName)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(episode);
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(kept);
        ArgumentNullException.ThrowIfNull(window);
        var name = string.Create(CultureInfo.InvariantCulture, $"{(modeInName ? config.ModeName + "-" : "")}{config.Method}-{config.BudgetLabel.TrimEnd('%')}");
        var target = Path.Combine(folder, SafeName(episode.Id), name);
        Directory.CreateDirectory(target);
        var written = new List<string>();
        foreach (var shot in window.Where(s => s >= 0 && s < record.Steps.Count))
        {
            var step = record.Steps[shot];
            int rows = step.ResizedHeight / cellPixels, cols = step.ResizedWidth / cellPixels;
            var layers = Fractions(kept, shot, rows, cols);
            using var screenshot = SKBitmap.Decode(episode.Steps[shot].Image.Read())
                ?? throw new InvalidOperationException($"The screenshot of step {shot} of {episode.Id} cannot be decoded for its heatmap.");
            var (width, height) = Fit(screenshot.Width, screenshot.Height, MaxWidth);
            using (var mean = Render(screenshot, rows, cols, Mean(layers, rows, cols), width, height))
            {
                written.Add(Save(mean, Path.Combine(target, $"shot{shot}-mean.png")));
            }

            written.Add(WriteLayers(screenshot, rows, cols, layers, Path.Combine(target, $"shot{shot}-layers.png")));
        }

        return written;
    }

    /// <summary>The size of a per-layer montage of <paramref name="layers"/> tiles for a <paramref name="width"/> × <paramref name="height"/> screenshot.</summary>
    public static (int Width, int Height, int TileWidth, int TileHeight) MontageSize(int layers, int width, int height)
    {
        var (tileWidth, tileHeight) = Fit(width, height, TileWidth);
        int columns = Math.Min(layers, TilesPerRow), tileRows = (layers + TilesPerRow - 1) / TilesPerRow;
        return (columns * tileWidth, tileRows * tileHeight, tileWidth, tileHeight);
    }

    private static string WriteLayers(SKBitmap screenshot, int rows, int cols, double[][,] layers, string path)
    {
        var (width, height, tileWidth, tileHeight) = MontageSize(layers.Length, screenshot.Width, screenshot.Height);
        using var montage = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(montage))
        {
            canvas.Clear(SKColors.White);
            for (var layer = 0; layer < layers.Length; layer++)
            {
                using var tile = Render(screenshot, rows, cols, layers[layer], tileWidth, tileHeight);
                canvas.DrawBitmap(tile, (layer % TilesPerRow) * tileWidth, layer / TilesPerRow * tileHeight);
            }
        }

        return Save(montage, path);
    }

    /// <summary>Encodes a PNG.</summary>
    public static string Save(SKBitmap bitmap, string path)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
        return path;
    }

    /// <summary>An episode id as a file name.</summary>
    public static string SafeName(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return new string(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
    }
}
