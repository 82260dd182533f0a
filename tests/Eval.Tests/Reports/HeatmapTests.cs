using SkiaSharp;
using StarKv.Eval.Core.Reports;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Eval.Tests.Reports;

public sealed class HeatmapTests
{
    [Fact]
    public void A_heatmap_shades_exactly_the_kept_cells()
    {
        using var screenshot = SKBitmap.Decode(TestData.Sample("web_09.png")); // 1280×800, no scaling
        const int rows = 4, cols = 5;
        // Layer 0 keeps (0, 0) with both heads and (2, 3) with one; layer 1 keeps (2, 3) with both.
        var kept = new KeptVision(2,
        [
            [new KeptVisionCell(0, 0, 0, 2), new KeptVisionCell(0, 2, 3, 1), new KeptVisionCell(1, 1, 1, 2)],
            [new KeptVisionCell(0, 2, 3, 2)],
        ]);
        var layers = HeatmapRenderer.Fractions(kept, 0, rows, cols);
        var mean = HeatmapRenderer.Mean(layers, rows, cols);
        Assert.Equal(0.5, mean[0, 0]);
        Assert.Equal(0.75, mean[2, 3]);
        Assert.Equal(0.0, mean[1, 1]); // kept only in screenshot 1

        using var plain = HeatmapRenderer.Render(screenshot, rows, cols, new double[rows, cols], 1280, 800);
        using var shaded = HeatmapRenderer.Render(screenshot, rows, cols, mean, 1280, 800);
        for (var r = 0; r < rows; r++)
        {
            var (y0, y1) = HeatmapRenderer.CellSpan(r, rows, 800);
            for (var c = 0; c < cols; c++)
            {
                var (x0, x1) = HeatmapRenderer.CellSpan(c, cols, 1280);
                var changed = 0;
                for (var y = y0; y < y1; y += 7)
                {
                    for (var x = x0; x < x1; x += 7)
                    {
                        changed += plain.GetPixel(x, y) != shaded.GetPixel(x, y) ? 1 : 0;
                    }
                }

                var samples = ((y1 - y0 + 6) / 7) * ((x1 - x0 + 6) / 7);
                var keptCell = (r, c) is (0, 0) or (2, 3);
                Assert.True(keptCell ? changed == samples : changed == 0, $"cell ({r}, {c}): {changed} of {samples} pixels changed");
            }
        }

        // More heads and layers keeping a cell shade it more strongly.
        Assert.True(shaded.GetPixel(HeatmapRenderer.CellSpan(3, cols, 1280).Start + 5, HeatmapRenderer.CellSpan(2, rows, 800).Start + 5).Red
            >= shaded.GetPixel(5, 5).Red - 60);
    }

    [Fact]
    public void Drawings_fit_the_width_limits()
    {
        Assert.Equal((1280, 720), HeatmapRenderer.Fit(2560, 1440, HeatmapRenderer.MaxWidth));
        Assert.Equal((400, 905), HeatmapRenderer.Fit(400, 905, HeatmapRenderer.MaxWidth));
        Assert.Equal((1280, 1260, 320, 180), HeatmapRenderer.MontageSize(28, 2560, 1440));
        Assert.Equal((640, 180, 320, 180), HeatmapRenderer.MontageSize(2, 1280, 720));
    }
}
