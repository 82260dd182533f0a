namespace StarKv.SyntheticGui.Screens;

/// <summary>What a generated screen must hold, beyond its random layout.</summary>
public sealed record ScreenRequest
{
    public required Platform Platform { get; init; }

    public required Theme Theme { get; init; }

    /// <summary>The most widgets besides dialog buttons (the suite uses 6–16; a training curriculum may ask for fewer).</summary>
    public int MaxWidgets { get; init; } = 16;

    /// <summary>The fewest widgets besides dialog buttons.</summary>
    public int MinWidgets { get; init; } = 6;

    /// <summary>Whether a modal dialog with one or two buttons opens over the screen.</summary>
    public bool WithDialog { get; init; }

    /// <summary>Whether the file list must be present (with at least three rows).</summary>
    public bool WithList { get; init; }

    /// <summary>A file the list must hold (implies <see cref="WithList"/>), or null.</summary>
    public string? ListMustHold { get; init; }

    /// <summary>Whether one list row is selected (highlighted).</summary>
    public bool SelectRow { get; init; }

    /// <summary>Whether the text field must be present and focused.</summary>
    public bool FocusField { get; init; }

    /// <summary>Widget descriptions (see <see cref="Widget.Description"/>) the screen must not show.</summary>
    public IReadOnlySet<string> Exclude { get; init; } = new HashSet<string>();

    /// <summary>File names that must not appear in the list.</summary>
    public IReadOnlySet<string> ExcludeFiles { get; init; } = new HashSet<string>();
}

/// <summary>
/// Lays out a screen from a seeded <see cref="Random"/>: a platform's regions (title bar, tab bar, icon column, file
/// list, text field, buttons) filled with widgets whose labels, colours, counts, sizes and offsets are drawn at
/// random, mirrored at random, optionally under a modal dialog. Widgets never overlap (2 pixels apart at least) and
/// every description is unique on the screen. The same request and seed give the same screen.
/// </summary>
public static class ScreenGenerator
{
    private const int Row = 28;
    private const int Gap = 4;

    public static Screen Generate(ScreenRequest request, Random random)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(random);
        if (request.MinWidgets < 1 || request.MaxWidgets < request.MinWidgets)
        {
            throw new ArgumentException($"Widget counts must satisfy 1 ≤ min ≤ max; got {request.MinWidgets}..{request.MaxWidgets}.", nameof(request));
        }

        var (width, height) = PlatformSizes.Of(request.Platform);
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var builder = new Builder(request, random, width, height);
            var widgets = request.Platform switch
            {
                Platform.Desktop => builder.Desktop(),
                Platform.Mobile => builder.Mobile(),
                _ => builder.Web(),
            };
            widgets = Trim(widgets, request, random);
            if (widgets is null)
            {
                continue;
            }

            if (random.NextDouble() < 0.5)
            {
                widgets = [.. widgets.Select(w => w with { Box = Mirror(w.Box, width, request.Platform) })];
            }

            var title = Vocabulary.TabLabels[random.Next(Vocabulary.TabLabels.Count)];
            var screen = new Screen(request.Platform, request.Theme, width, height, title, widgets);
            return request.WithDialog ? AddDialog(screen, random) : screen;
        }

        throw new InvalidOperationException($"No {request.Platform} screen satisfies the request after 200 attempts.");
    }

    /// <summary>Drops widgets at random down to the maximum, keeping what the request requires.</summary>
    private static List<Widget>? Trim(List<Widget> widgets, ScreenRequest request, Random random)
    {
        bool Required(Widget w) =>
            (request.ListMustHold is not null && w.Kind == WidgetKind.ListRow && w.Label == request.ListMustHold)
            || (request.SelectRow && w.Highlighted && w.Kind == WidgetKind.ListRow)
            || (request.FocusField && w.Kind == WidgetKind.TextField);

        var result = widgets.Where(w => !request.Exclude.Contains(w.Description)).ToList();
        while (result.Count > request.MaxWidgets)
        {
            var removable = result.Select((w, i) => (w, i)).Where(p => !Required(p.w)).ToList();
            if (removable.Count == 0)
            {
                return null;
            }

            result.RemoveAt(removable[random.Next(removable.Count)].i);
        }

        if (request.WithList && result.Count(w => w.Kind == WidgetKind.ListRow) < 3)
        {
            return null;
        }

        return result.Count >= request.MinWidgets ? result : null;
    }

    private static PixelBox Mirror(PixelBox box, int width, Platform platform) =>
        platform == Platform.Mobile ? box : new PixelBox(width - 1 - box.X2, box.Y1, width - 1 - box.X1, box.Y2);

    private static Screen AddDialog(Screen screen, Random random)
    {
        var dialogWidth = Math.Min(screen.Width - 24, 180);
        var dialogHeight = 84;
        var x1 = ((screen.Width - dialogWidth) / 2) + random.Next(-8, 9);
        var y1 = ((screen.Height - dialogHeight) / 2) + random.Next(-20, 21);
        var box = new PixelBox(x1, y1, x1 + dialogWidth - 1, y1 + dialogHeight - 1);
        var labels = Pick(Vocabulary.DialogLabels, random.Next(1, 3), random);
        var buttons = new List<Widget>();
        var buttonWidth = 56;
        var total = (labels.Count * buttonWidth) + ((labels.Count - 1) * 12);
        var bx = box.X1 + ((dialogWidth - total) / 2);
        foreach (var label in labels)
        {
            var colour = NamedColour.All[random.Next(NamedColour.All.Count)];
            buttons.Add(new Widget(WidgetKind.DialogButton, label, colour, new PixelBox(bx, box.Y2 - 8 - Row + 1, bx + buttonWidth - 1, box.Y2 - 8)));
            bx += buttonWidth + 12;
        }

        var title = Vocabulary.DialogTitles[random.Next(Vocabulary.DialogTitles.Count)];
        return screen with { Widgets = [.. screen.Widgets, .. buttons], Dialog = new Dialog(title, box) };
    }

    private static List<string> Pick(IReadOnlyList<string> from, int count, Random random)
    {
        var pool = from.ToList();
        var picked = new List<string>();
        for (var i = 0; i < count && pool.Count > 0; i++)
        {
            var j = random.Next(pool.Count);
            picked.Add(pool[j]);
            pool.RemoveAt(j);
        }

        return picked;
    }

    /// <summary>Fills one platform's regions.</summary>
    private sealed class Builder(ScreenRequest request, Random random, int width, int height)
    {
        private readonly List<Widget> _widgets = [];

        public List<Widget> Desktop()
        {
            // Title bar 0..19, tab bar, then an icon column, the file list and a right column with field and buttons.
            Tabs(8, 22, random.Next(2, 5), 56);
            IconColumn(8, 56, random.Next(1, 5));
            List(48, 56, 150, random.Next(2, 6), 28);
            var right = 210 + random.Next(0, 8);
            var y = 56;
            if (request.FocusField || random.NextDouble() < 0.7)
            {
                Field(right, y, 112);
                y += Row + 8;
            }

            Buttons(right, y, random.Next(1, 5), columns: 2, maxRight: width - 6);
            return _widgets;
        }

        public List<Widget> Mobile()
        {
            // Title bar with icons at its right, a search field, the list, a button row and a bottom tab bar.
            var icons = random.Next(1, 3);
            for (var i = 0; i < icons; i++)
            {
                Icon(width - 8 - ((i + 1) * 32) + 4, 4);
            }

            var y = 42;
            if (request.FocusField || random.NextDouble() < 0.7)
            {
                Field(8, y, width - 16);
                y += Row + 8;
            }

            List(8, y, width - 16, random.Next(2, 6), 30);
            Buttons(8, 246 + random.Next(-6, 7), random.Next(1, 4), columns: 3, maxRight: width - 8);
            Tabs(6, height - Row - 6, random.Next(2, 5), 44);
            return _widgets;
        }

        public List<Widget> Web()
        {
            // A navigation bar of tabs, a search field with a button, the list on one side, icons and buttons on the other.
            Tabs(8, 2, random.Next(2, 5), 52);
            var y = 36;
            if (request.FocusField || random.NextDouble() < 0.7)
            {
                Field(8, y, 150);
            }

            Buttons(166, y, 1, columns: 1, maxRight: width - 6);
            List(8, 72, 144, random.Next(2, 6), 28);
            var iconCount = random.Next(1, 5);
            for (var i = 0; i < iconCount; i++)
            {
                Icon(166 + ((i % 4) * 34), 76);
            }

            Buttons(166, 118, random.Next(1, 4), columns: 2, maxRight: width - 6);
            return _widgets;
        }

        private void Tabs(int x, int y, int count, int tabWidth)
        {
            var labels = Pick(Vocabulary.TabLabels, count, random);
            var active = random.Next(labels.Count);
            var accent = NamedColour.All[random.Next(NamedColour.All.Count)];
            for (var i = 0; i < labels.Count; i++)
            {
                Add(new Widget(WidgetKind.Tab, labels[i], accent, new PixelBox(x, y, x + tabWidth - 1, y + Row - 1), i == active));
                x += tabWidth + Gap;
            }
        }

        private void IconColumn(int x, int y, int count)
        {
            for (var i = 0; i < count; i++)
            {
                Icon(x, y + (i * 36));
            }
        }

        private void Icon(int x, int y)
        {
            for (var attempt = 0; attempt < 20; attempt++)
            {
                var shape = Vocabulary.IconShapes[random.Next(Vocabulary.IconShapes.Count)];
                var colour = NamedColour.All[random.Next(NamedColour.All.Count)];
                var size = random.Next(28, 33);
                var widget = new Widget(WidgetKind.Icon, shape, colour, new PixelBox(x, y, x + size - 1, y + size - 1));
                if (_widgets.All(w => w.Description != widget.Description))
                {
                    Add(widget);
                    return;
                }
            }
        }

        private void List(int x, int y, int listWidth, int rows, int rowHeight)
        {
            if (request.WithList || request.ListMustHold is not null || request.SelectRow)
            {
                rows = Math.Max(rows, 3);
            }

            var files = Vocabulary.FileNames.Where(f => !request.ExcludeFiles.Contains(f) && f != request.ListMustHold).ToList();
            var names = Pick(files, rows, random);
            if (request.ListMustHold is { } must)
            {
                names[random.Next(names.Count)] = must;
            }

            var selected = request.SelectRow ? random.Next(names.Count) : -1;
            var accent = NamedColour.All[random.Next(NamedColour.All.Count - 1)];
            for (var i = 0; i < names.Count; i++)
            {
                var top = y + (i * rowHeight);
                Add(new Widget(WidgetKind.ListRow, names[i], accent, new PixelBox(x, top, x + listWidth - 1, top + rowHeight - 3), i == selected));
            }
        }

        private void Field(int x, int y, int fieldWidth)
        {
            var label = Vocabulary.FieldLabels[random.Next(Vocabulary.FieldLabels.Count)];
            var accent = NamedColour.All[random.Next(NamedColour.All.Count - 1)];
            Add(new Widget(WidgetKind.TextField, label, accent, new PixelBox(x, y, x + fieldWidth - 1, y + Row - 1), request.FocusField));
        }

        private void Buttons(int x, int y, int count, int columns, int maxRight)
        {
            var labels = Pick(Vocabulary.ButtonLabels.Where(l => _widgets.All(w => w.Label != l)).ToList(), count, random);
            var left = x;
            for (var i = 0; i < labels.Count; i++)
            {
                var buttonWidth = random.Next(52, 65);
                var buttonHeight = random.Next(Row, Row + 5);
                if ((i > 0 && i % columns == 0) || x + buttonWidth - 1 > maxRight)
                {
                    x = left;
                    y += Row + 10;
                }

                if (x + buttonWidth - 1 > maxRight || y + buttonHeight > height - 4)
                {
                    break;
                }

                var colour = NamedColour.All[random.Next(NamedColour.All.Count)];
                Add(new Widget(WidgetKind.Button, labels[i], colour, new PixelBox(x, y, x + buttonWidth - 1, y + buttonHeight - 1)));
                x += buttonWidth + 6;
            }
        }

        private void Add(Widget widget)
        {
            if (widget.Box.X1 < 0 || widget.Box.Y1 < 0 || widget.Box.X2 >= width || widget.Box.Y2 >= height)
            {
                return;
            }

            if (_widgets.Any(w => w.Box.Overlaps(widget.Box, 2)) || _widgets.Any(w => w.Description == widget.Description))
            {
                return;
            }

            _widgets.Add(widget);
        }
    }
}
