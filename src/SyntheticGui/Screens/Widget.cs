namespace StarKv.SyntheticGui.Screens;

/// <summary>A box in screenshot pixels, edges inclusive: the widget covers x1 ≤ x ≤ x2, y1 ≤ y ≤ y2.</summary>
public readonly record struct PixelBox(int X1, int Y1, int X2, int Y2)
{
    public int Width => X2 - X1 + 1;

    public int Height => Y2 - Y1 + 1;

    /// <summary>The centre, rounded down (a pixel inside the box).</summary>
    public (int X, int Y) Centre => ((X1 + X2) / 2, (Y1 + Y2) / 2);

    public bool Contains(int x, int y) => x >= X1 && x <= X2 && y >= Y1 && y <= Y2;

    public bool Overlaps(PixelBox other, int margin = 0) =>
        X1 - margin <= other.X2 && other.X1 - margin <= X2 && Y1 - margin <= other.Y2 && other.Y1 - margin <= Y2;
}

/// <summary>One widget of a synthetic screen: what it is, how it looks, and where it is.</summary>
/// <param name="Kind">The widget's kind.</param>
/// <param name="Label">Its text (button label, tab name, file name, field placeholder), or its shape name for an icon.</param>
/// <param name="Colour">Its named colour (fill of buttons and icons; accent of the other kinds).</param>
/// <param name="Box">Where it is drawn, in screenshot pixels.</param>
/// <param name="Highlighted">A selected list row, the active tab, or a focused text field.</param>
public sealed record Widget(WidgetKind Kind, string Label, NamedColour Colour, PixelBox Box, bool Highlighted = false)
{
    /// <summary>How an instruction names the widget, unambiguous on its screen: "blue 'Save' button", "red star icon".</summary>
    public string Description => Kind switch
    {
        WidgetKind.Button => $"{Colour.Name} '{Label}' button",
        WidgetKind.Icon => $"{Colour.Name} {Label} icon",
        WidgetKind.Tab => $"'{Label}' tab",
        WidgetKind.ListRow => $"file '{Label}'",
        WidgetKind.TextField => $"'{Label}' field",
        WidgetKind.DialogButton => $"'{Label}' button of the dialog",
        _ => throw new InvalidOperationException($"Unknown widget kind {Kind}."),
    };
}
