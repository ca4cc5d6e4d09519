#pragma once
/// \file inside_map_view.h
/// A probe map over the image (attention of a patch, guidance), scaled with nearest neighbour so the
/// model's patches stay crisp squares, with the token grid's selected patch outlined. Clicking picks
/// the patch under the pointer (tokenClicked); the arrow keys move the selection.

#include <QImage>
#include <QString>
#include <QWidget>

class InsideMapView : public QWidget {
    Q_OBJECT

public:
    explicit InsideMapView(QWidget *parent = nullptr);

    void setImage(const QImage &image);
    const QImage &image() const { return m_image; }
    /// The model's token grid (tokensPerSide x tokensPerSide over the image); 0 hides the outline.
    void setGrid(int tokensPerSide);
    /// The outlined patch (-1: none).
    void setSelectedToken(int token);
    int selectedToken() const { return m_token; }
    void setPlaceholderText(const QString &text);
    /// The token under a widget position, or -1 outside the image.
    int tokenAtPosition(const QPoint &pos) const;
    /// Where a token lies in widget coordinates (for tests and tooltips).
    QRect tokenRect(int token) const;

    QSize sizeHint() const override { return {360, 360}; }
    QSize minimumSizeHint() const override { return {160, 160}; }

signals:
    void tokenClicked(int token);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    QRect targetRect() const;

    QImage m_image;
    QString m_placeholder;
    int m_grid = 0;
    int m_token = -1;
};
