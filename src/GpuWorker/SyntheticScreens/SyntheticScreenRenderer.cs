using SkiaSharp;

namespace StarKv.GpuWorker.SyntheticScreens;

/// <summary>
/// Draws a plausible desktop screenshot for demos and tests: a desktop with a menu bar and a task bar, two
/// application windows (title bars with close/minimise buttons), buttons with text labels, a text field, a list
/// with a selected row and a mouse pointer. The seed picks the palette, the labels and the layout; the step moves
/// the front window, advances the list selection, the text field's contents and the pointer, so consecutive
/// steps of one trajectory differ the way an agent's screenshots do.
/// </summary>
/// <remarks>
/// Output is deterministic for the same arguments on the same machine (the only randomness is a
/// <see cref="Random"/> seeded by <c>seed</c>). Text is drawn with the default typeface; where the platform has no
/// font with Latin glyphs, each label is drawn as dark bars of the same extent so the screen still shows
/// text-like structure.
/// </remarks>
public static class SyntheticScreenRenderer
{
    private const int MinSide = 64;
    private const int MaxSide = 8192;

    private static readonly string[] AppNames = ["Mail", "Calendar", "Files", "Settings", "Notes", "Browser", "Music", "Terminal"];
    private static readonly string[] ButtonLabels = ["OK", "Cancel", "Save", "Open", "Send", "Search", "Apply", "Delete", "Next", "Back"];
    private static readonly string[] ListItems =
    [
        "Inbox", "Drafts", "Sent", "Archive", "Projects", "Reports 2024", "Holiday photos", "Invoices",
        "Meeting notes", "Budget.xlsx", "README.md", "Downloads",
    ];
    private const string TypedText = "quarterly report draft";

    /// <summary>Renders one screenshot as PNG bytes.</summary>
    /// <param name="seed">Picks palette, labels and layout.</param>
    /// <param name="width">Width in pixels, 64 to 8192.</param>
    /// <param name="height">Height in pixels, 64 to 8192.</param>
    /// <param name="step">The trajectory step (≥ 0); moves and changes elements from one step to the next.</param>
    public static byte[] RenderPng(int seed, int width, int height, int step)
    {
        if (width is < MinSide or > MaxSide)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, $"Width must lie in [{MinSide}, {MaxSide}] pixels.");
        }

        if (height is < MinSide or > MaxSide)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height, $"Height must lie in [{MinSide}, {MaxSide}] pixels.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(step);

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info)
            ?? throw new InvalidOperationException($"SkiaSharp could not create a {width}×{height} surface.");
        var canvas = surface.Canvas;
        var scene = new Scene(new Random(seed), width, height, step);
        scene.Draw(canvas);
        canvas.Flush();

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private sealed class Scene
    {
        private readonly Random _random;
        private readonly int _width;
        private readonly int _height;
        private readonly int _step;
        private readonly float _unit;
        private readonly SKColor _desktop;
        private readonly SKColor _accent;
        private readonly SKTypeface _typeface;
        private readonly bool _hasGlyphs;

        public Scene(Random random, int width, int height, int step)
        {
            _random = random;
            _width = width;
            _height = height;
            _step = step;
            // One layout unit: 1/100 of the shorter side, so small and large screens share a layout.
            _unit = Math.Min(width, height) / 100f;
            _desktop = SKColor.FromHsl(_random.Next(0, 360), 35, 45);
            _accent = SKColor.FromHsl(_random.Next(0, 360), 70, 45);
            _typeface = SKTypeface.Default;
            using var probe = new SKFont(_typeface, 12);
            _hasGlyphs = probe.GetGlyph('A') != 0;
        }

        public void Draw(SKCanvas canvas)
        {
            canvas.Clear(_desktop);
            DrawDesktopIcons(canvas);
            DrawMenuBar(canvas);

            var backApp = AppNames[_random.Next(AppNames.Length)];
            var frontApp = AppNames[_random.Next(AppNames.Length)];
            var buttonA = ButtonLabels[_random.Next(ButtonLabels.Length)];
            var buttonB = ButtonLabels[_random.Next(ButtonLabels.Length)];
            var listOffset = _random.Next(ListItems.Length);

            // The back window stays put; the front one drifts a little each step.
            var back = SKRect.Create(_width * 0.05f, _height * 0.12f, _width * 0.55f, _height * 0.6f);
            DrawWindow(canvas, back, backApp, active: false);
            DrawList(canvas, InnerArea(back), listOffset, selected: -1);

            var drift = _step % 8;
            var frontLeft = (_width * 0.35f) + (drift * _unit * 2.5f);
            var frontTop = (_height * 0.22f) + (drift % 4 * _unit * 1.5f);
            var front = SKRect.Create(frontLeft, frontTop, _width * 0.55f, _height * 0.62f);
            DrawWindow(canvas, front, frontApp, active: true);
            DrawFrontContent(canvas, InnerArea(front), listOffset + 3, buttonA, buttonB);

            DrawTaskBar(canvas, frontApp);
            DrawPointer(canvas, front);
        }

        private SKRect InnerArea(SKRect window)
        {
            var title = TitleHeight;
            return new SKRect(window.Left + _unit, window.Top + title + _unit, window.Right - _unit, window.Bottom - _unit);
        }

        private float TitleHeight => Math.Max(8f, _unit * 4f);

        private void DrawDesktopIcons(SKCanvas canvas)
        {
            using var paint = new SKPaint { IsAntialias = true, Color = new SKColor(240, 240, 240) };
            var size = _unit * 6;
            for (var i = 0; i < 4; i++)
            {
                var x = _width - (size * 2);
                var y = (_height * 0.1f) + (i * size * 2);
                paint.Color = SKColor.FromHsl(_random.Next(0, 360), 50, 70);
                canvas.DrawRoundRect(SKRect.Create(x, y, size, size), _unit, _unit, paint);
                DrawLabel(canvas, AppNames[(i + _random.Next(AppNames.Length)) % AppNames.Length], x, y + size + (_unit * 2.2f), _unit * 1.8f, SKColors.White);
            }
        }

        private void DrawMenuBar(SKCanvas canvas)
        {
            var h = Math.Max(6f, _unit * 3.2f);
            using var paint = new SKPaint { Color = new SKColor(245, 245, 247) };
            canvas.DrawRect(0, 0, _width, h, paint);
            var x = _unit * 2;
            foreach (var item in new[] { "File", "Edit", "View", "Window", "Help" })
            {
                x += DrawLabel(canvas, item, x, h * 0.75f, h * 0.6f, SKColors.Black) + (_unit * 3);
            }

            // A clock that changes with the step.
            var clock = $"{9 + (_step / 60 % 12):00}:{_step % 60:00}";
            DrawLabel(canvas, clock, _width - (_unit * 12), h * 0.75f, h * 0.6f, SKColors.Black);
        }

        private void DrawTaskBar(SKCanvas canvas, string frontApp)
        {
            var h = Math.Max(8f, _unit * 6f);
            using var paint = new SKPaint { Color = new SKColor(30, 30, 36, 230) };
            canvas.DrawRect(0, _height - h, _width, h, paint);
            var x = _unit * 2;
            foreach (var app in AppNames.Take(5))
            {
                paint.Color = app == frontApp ? _accent : new SKColor(70, 70, 80);
                var tile = SKRect.Create(x, _height - (h * 0.85f), h * 0.7f, h * 0.7f);
                canvas.DrawRoundRect(tile, _unit * 0.8f, _unit * 0.8f, paint);
                x += h;
            }

            DrawLabel(canvas, frontApp, x + _unit, _height - (h * 0.35f), h * 0.4f, SKColors.White);
        }

        private void DrawWindow(SKCanvas canvas, SKRect frame, string title, bool active)
        {
            using var shadow = new SKPaint { Color = new SKColor(0, 0, 0, 60), IsAntialias = true };
            canvas.DrawRoundRect(frame with { Left = frame.Left + _unit, Top = frame.Top + _unit, Right = frame.Right + _unit, Bottom = frame.Bottom + _unit }, _unit, _unit, shadow);

            using var body = new SKPaint { Color = new SKColor(252, 252, 252), IsAntialias = true };
            canvas.DrawRoundRect(frame, _unit, _unit, body);

            var titleBar = new SKRect(frame.Left, frame.Top, frame.Right, frame.Top + TitleHeight);
            using var bar = new SKPaint { Color = active ? new SKColor(222, 226, 232) : new SKColor(238, 238, 238), IsAntialias = true };
            canvas.DrawRect(titleBar, bar);

            // Close, minimise, maximise dots.
            var r = TitleHeight * 0.22f;
            SKColor[] dots = [new(255, 95, 86), new(255, 189, 46), new(39, 201, 63)];
            using var dot = new SKPaint { IsAntialias = true };
            for (var i = 0; i < dots.Length; i++)
            {
                dot.Color = active ? dots[i] : new SKColor(200, 200, 200);
                canvas.DrawCircle(frame.Left + (TitleHeight * 0.5f) + (i * r * 3), titleBar.MidY, r, dot);
            }

            DrawLabel(canvas, title, frame.MidX - (title.Length * TitleHeight * 0.2f), titleBar.MidY + (TitleHeight * 0.2f), TitleHeight * 0.55f, SKColors.Black);

            using var border = new SKPaint { Color = new SKColor(150, 150, 150), IsStroke = true, StrokeWidth = 1, IsAntialias = true };
            canvas.DrawRoundRect(frame, _unit, _unit, border);
        }

        private void DrawFrontContent(SKCanvas canvas, SKRect area, int listOffset, string buttonA, string buttonB)
        {
            var rowH = Math.Max(6f, _unit * 4f);

            // Text field: the typed text grows with the step, as if the agent were typing.
            var field = new SKRect(area.Left + _unit, area.Top + _unit, area.Right - _unit, area.Top + _unit + rowH);
            using var fieldFill = new SKPaint { Color = SKColors.White };
            using var fieldBorder = new SKPaint { Color = _accent, IsStroke = true, StrokeWidth = Math.Max(1f, _unit * 0.3f), IsAntialias = true };
            canvas.DrawRect(field, fieldFill);
            canvas.DrawRect(field, fieldBorder);
            var typed = TypedText[..Math.Min(TypedText.Length, _step * 3)];
            var textWidth = DrawLabel(canvas, typed.Length > 0 ? typed : "Search…", field.Left + _unit, field.MidY + (rowH * 0.2f), rowH * 0.55f, typed.Length > 0 ? SKColors.Black : SKColors.Gray);
            using var caret = new SKPaint { Color = SKColors.Black, StrokeWidth = 1 };
            if (typed.Length > 0)
            {
                canvas.DrawLine(field.Left + _unit + textWidth + 1, field.Top + 2, field.Left + _unit + textWidth + 1, field.Bottom - 2, caret);
            }

            // A list whose selection walks down one row per step.
            var listArea = new SKRect(area.Left + _unit, field.Bottom + _unit, area.MidX, area.Bottom - rowH - (_unit * 2));
            var rows = Math.Max(1, (int)(listArea.Height / rowH));
            DrawList(canvas, listArea, listOffset, selected: _step % rows);

            // A preview panel and two buttons.
            var panel = new SKRect(area.MidX + _unit, field.Bottom + _unit, area.Right - _unit, area.Bottom - rowH - (_unit * 2));
            using var panelPaint = new SKPaint { Color = new SKColor(240, 243, 248) };
            canvas.DrawRect(panel, panelPaint);
            for (var line = 0; line < 4; line++)
            {
                var y = panel.Top + (rowH * (line + 1));
                if (y < panel.Bottom)
                {
                    DrawLabel(canvas, ListItems[(listOffset + _step + line) % ListItems.Length], panel.Left + _unit, y, rowH * 0.5f, new SKColor(60, 60, 60));
                }
            }

            var buttonW = Math.Max(12f, _unit * 12f);
            var b2 = SKRect.Create(area.Right - buttonW - _unit, area.Bottom - rowH - _unit, buttonW, rowH);
            var b1 = SKRect.Create(b2.Left - buttonW - _unit, b2.Top, buttonW, rowH);
            DrawButton(canvas, b1, buttonA, primary: false);
            DrawButton(canvas, b2, buttonB, primary: true);
        }

        private void DrawList(SKCanvas canvas, SKRect area, int offset, int selected)
        {
            var rowH = Math.Max(6f, _unit * 4f);
            using var fill = new SKPaint();
            var rows = Math.Max(1, (int)(area.Height / rowH));
            for (var i = 0; i < rows; i++)
            {
                var row = SKRect.Create(area.Left, area.Top + (i * rowH), area.Width, rowH);
                fill.Color = i == selected ? _accent : i % 2 == 0 ? new SKColor(255, 255, 255) : new SKColor(246, 246, 246);
                canvas.DrawRect(row, fill);
                var text = ListItems[(offset + i) % ListItems.Length];
                DrawLabel(canvas, text, row.Left + _unit, row.MidY + (rowH * 0.2f), rowH * 0.55f, i == selected ? SKColors.White : SKColors.Black);
            }
        }

        private void DrawButton(SKCanvas canvas, SKRect rect, string label, bool primary)
        {
            using var paint = new SKPaint { IsAntialias = true, Color = primary ? _accent : new SKColor(230, 230, 230) };
            canvas.DrawRoundRect(rect, _unit * 0.8f, _unit * 0.8f, paint);
            var size = rect.Height * 0.5f;
            var width = MeasureLabel(label, size);
            DrawLabel(canvas, label, rect.MidX - (width / 2), rect.MidY + (size * 0.35f), size, primary ? SKColors.White : SKColors.Black);
        }

        private void DrawPointer(SKCanvas canvas, SKRect front)
        {
            // The pointer hops between points of the front window with the step.
            var fx = ((_step * 37) + 11) % 89 / 89f;
            var fy = ((_step * 53) + 29) % 97 / 97f;
            var x = front.Left + (front.Width * fx);
            var y = front.Top + (front.Height * fy);
            var s = Math.Max(6f, _unit * 2.5f);
            using var path = new SKPath();
            path.MoveTo(x, y);
            path.LineTo(x, y + (s * 1.6f));
            path.LineTo(x + (s * 0.45f), y + (s * 1.2f));
            path.LineTo(x + (s * 1.1f), y + (s * 1.1f));
            path.Close();
            using var fill = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            using var edge = new SKPaint { Color = SKColors.White, IsStroke = true, StrokeWidth = 1, IsAntialias = true };
            canvas.DrawPath(path, fill);
            canvas.DrawPath(path, edge);
        }

        private float MeasureLabel(string text, float size)
        {
            if (!_hasGlyphs)
            {
                return text.Length * size * 0.55f;
            }

            using var font = new SKFont(_typeface, size);
            return font.MeasureText(text);
        }

        /// <summary>Draws <paramref name="text"/> with its baseline at <paramref name="y"/>; returns its width.</summary>
        private float DrawLabel(SKCanvas canvas, string text, float x, float y, float size, SKColor color)
        {
            size = Math.Max(4f, size);
            using var paint = new SKPaint { Color = color, IsAntialias = true };
            if (_hasGlyphs)
            {
                using var font = new SKFont(_typeface, size);
                canvas.DrawText(text, x, y, SKTextAlign.Left, font, paint);
                return font.MeasureText(text);
            }

            // No font available: one bar per word, as wide as the word would be.
            var advance = size * 0.55f;
            var cursor = x;
            foreach (var word in text.Split(' '))
            {
                canvas.DrawRect(SKRect.Create(cursor, y - (size * 0.7f), word.Length * advance, size * 0.7f), paint);
                cursor += (word.Length + 1) * advance;
            }

            return text.Length * advance;
        }
    }
}
