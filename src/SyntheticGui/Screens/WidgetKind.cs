namespace StarKv.SyntheticGui.Screens;

/// <summary>The kinds of widget a synthetic screen holds.</summary>
public enum WidgetKind
{
    /// <summary>A filled, rounded button with a text label.</summary>
    Button,

    /// <summary>A coloured glyph (circle, square, triangle, star, diamond, plus) without text.</summary>
    Icon,

    /// <summary>A tab of a tab bar, with a text label; one tab of a bar is the active one.</summary>
    Tab,

    /// <summary>A row of a file list, with a file name; one row may be selected (highlighted).</summary>
    ListRow,

    /// <summary>A text field with a placeholder label; a focused field shows a caret.</summary>
    TextField,

    /// <summary>A button inside a modal dialog.</summary>
    DialogButton,
}
