using StarKv.SyntheticGui.Screens;

namespace StarKv.AgentTraining.Samples;

/// <summary>
/// What each merged cell of a screenshot shows, as classes for a training-only head: the label (or icon shape) of the
/// visible widget under the cell's centre, and its colour; class 0 is "no widget".
/// </summary>
public static class ScreenContent
{
    private static readonly IReadOnlyList<string> Labels =
    [
        .. Vocabulary.ButtonLabels, .. Vocabulary.TabLabels, .. Vocabulary.FileNames, .. Vocabulary.FieldLabels,
        .. Vocabulary.IconShapes, .. Vocabulary.DialogLabels,
    ];

    private static readonly Dictionary<string, int> LabelIndex = Labels.Distinct(StringComparer.Ordinal).Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i + 1, StringComparer.Ordinal);

    private static readonly Dictionary<string, int> ColourIndex = NamedColour.All.Select((c, i) => (c.Name, i)).ToDictionary(p => p.Name, p => p.i + 1, StringComparer.Ordinal);

    /// <summary>Label classes, "no widget" included.</summary>
    public static int LabelClasses => LabelIndex.Count + 1;

    /// <summary>Colour classes, "no widget" included.</summary>
    public static int ColourClasses => ColourIndex.Count + 1;

    /// <summary>The classes of a screen's cells in raster order, for a model that sees it at the resized size on a grid of <paramref name="rows"/> × <paramref name="cols"/> cells.</summary>
    public static (long[] Labels, long[] Colours) Of(Screen screen, int resizedWidth, int resizedHeight, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(screen);
        var visible = screen.Visible.ToList();
        var labels = new long[rows * cols];
        var colours = new long[rows * cols];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                var x = (int)((((c * 28) + 14) * (double)screen.Width) / resizedWidth);
                var y = (int)((((r * 28) + 14) * (double)screen.Height) / resizedHeight);
                var widget = visible.LastOrDefault(w => w.Box.Contains(x, y));
                if (widget is not null)
                {
                    labels[(r * cols) + c] = LabelIndex[widget.Label];
                    colours[(r * cols) + c] = ColourIndex[widget.Colour.Name];
                }
            }
        }

        return (labels, colours);
    }
}
